"""Test-set F1 of a trained model with fp32 and with int8 encoder layers (issue 8's accuracy check).

Scores exactly as `allennlp evaluate` does (the model's entity-level metrics over the archive's
reader and `bioner_mixed_task` loader), once per variant, each on a freshly loaded model:
fp32; int8 with the first two and the last encoder layers in fp32 (the default of `--int8`);
with the first and last in fp32; int8 in every layer.

    .venv/bin/python benchmarks/int8_accuracy.py \
        --archive benchmarks/runs/stl_minilm_ncbi/model.tar.gz \
        --test NCBI-disease=../shared/data/MTL-Bioinformatics-2016/NCBI-disease-IOB/test.tsv
"""

import argparse
import copy
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch
from allennlp.common import Params
from allennlp.data import DatasetReader
from allennlp.models.archival import load_archive

import hsl_bioner  # noqa: F401
from hsl_bioner.data.mixed_task_loader import MixedTaskDataLoader, parse_data_paths
from hsl_bioner.modules.quantization import quantize_split_transformer

VARIANTS = {
    "fp32": None,
    "int8, layers 0, 1 and n-1 fp32 (default)": "default",
    "int8, layers 0 and n-1 fp32": [0, -1],
    "int8, all layers": [],
}


def evaluate(archive_file: str, test: str, fp32_layers: Optional[object]) -> Dict[str, float]:
    archive = load_archive(archive_file)
    model = archive.model.eval()
    if fp32_layers is not None:
        layers: Optional[Sequence[int]] = None if fp32_layers == "default" else fp32_layers
        quantize_split_transformer(model.embedder.split, layers)
    reader_params = copy.deepcopy(archive.config.as_dict()["dataset_reader"])
    for reader in reader_params.get("readers", {}).values():
        reader.pop("max_instances", None)  # score the whole test file
    reader = DatasetReader.from_params(Params(reader_params))
    loader = MixedTaskDataLoader(
        reader, parse_data_paths(test, list(model.tasks)), batch_size=32, shuffle=False
    )
    loader.index_with(model.vocab)
    started = time.perf_counter()
    with torch.no_grad():
        for batch in loader:
            model(**batch)
    metrics = model.get_metrics(reset=True)
    metrics["seconds"] = time.perf_counter() - started
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", required=True)
    parser.add_argument(
        "--test",
        required=True,
        help="TASK=PATH of the test file; comma-separated TASK=PATH items for a multi-task model",
    )
    parser.add_argument("--output-md")
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = []
    baseline: Optional[Dict[str, float]] = None
    tasks: List[str] = []
    for name, fp32_layers in VARIANTS.items():
        metrics = evaluate(args.archive, args.test, fp32_layers)
        if baseline is None:
            baseline = metrics
            tasks = sorted(k[: -len("_f1")] for k in metrics if k.endswith("_f1") and k != "f1")
        # A multi-task model: each task's F1 and its difference, as well as the macro average.
        per_task = ""
        for task in tasks if len(tasks) > 1 else []:
            f1, delta = metrics[f"{task}_f1"], metrics[f"{task}_f1"] - baseline[f"{task}_f1"]
            per_task += f" {100 * f1:.2f} ({100 * delta:+.2f}) |"
        rows.append(
            f"| {name} | {100 * metrics['precision']:.2f} | {100 * metrics['recall']:.2f} | "
            f"{100 * metrics['f1']:.2f} | {100 * (metrics['f1'] - baseline['f1']):+.2f} |"
            f"{per_task} {metrics['seconds']:.1f} |"
        )
        print(rows[-1], flush=True)
    task_columns = [f" F1 {t} (Δ) |" for t in tasks] if len(tasks) > 1 else []
    table = "\n".join(
        [
            f"Archive `{args.archive}`, test `{args.test}`.",
            "",
            "| encoder | precision | recall | F1 | ΔF1 vs fp32 |"
            + "".join(task_columns)
            + " scoring time (s) |",
            "|---|---|---|---|---|" + "---|" * len(task_columns) + "---|",
            *rows,
        ]
    )
    print(table)
    if args.output_md:
        Path(args.output_md).write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
