"""Training throughput of MTL-LS with 2 and 4 tasks against STL, same encoder, batches and data.

Every configuration trains (forward, backward, optimizer step) on the SAME sentences, drawn from
real corpora, in batches built by our `bioner_mixed_task` loader, each run in a fresh subprocess so
that its peak RSS is its own; configurations are interleaved over rounds (A B C A B C ...) so that
the load of this shared machine hits all alike, and the report gives medians and ratios to STL.

Besides wall time, each run reports its CPU time (less sensitive to other load on the machine)
and wall time per phase (forward, backward, optimizer step), which separates the compute spent on
instances from the optimizer's work per parameter: MTL-LS holds one copy of the upper layers per
task, and AdamW updates every copy at every step.

A sanity column counts, with forward hooks, how many instance rows every encoder layer processed:
per instance exactly k shared-layer passes and n - k upper-layer passes, i.e. no task's upper
layers ran on another task's instances and the shared stack ran once per batch.

    .venv/bin/python benchmarks/throughput.py --output-md /tmp/throughput.md
"""

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from interleave import report, run_interleaved

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ["NCBI-disease-IOB", "BC5CDR-disease-IOB", "BC5CDR-chem-IOB", "BioNLP13CG-chem-IOB"]


def _data_root(given: str) -> Path:
    root = Path(
        given
        or os.environ.get("HSL_BIONER_DATA")
        or ROOT.parent / "shared/data/MTL-Bioinformatics-2016"
    )
    if not root.is_dir():
        sys.exit(f"corpora not found at {root}: pass --data-root or set HSL_BIONER_DATA")
    return root


def run_one(args: argparse.Namespace) -> Dict[str, float]:
    """One configuration, in this process: returns sentences/s, peak RSS and layer-call counts."""
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from allennlp.common import Params
    from allennlp.data import Vocabulary
    from allennlp.data.dataset_readers import MultiTaskDatasetReader
    from allennlp.models import Model
    from allennlp.training.optimizers import Optimizer

    import hsl_bioner  # noqa: F401
    from hsl_bioner.data.iob_reader import IobTaggingReader, read_iob_sentences
    from hsl_bioner.data.mixed_task_loader import MixedTaskDataLoader

    root = _data_root(args.data_root)
    tasks = 1 if args.config == "stl" else int(args.config.split("-")[1])
    # The same sentences for every configuration: the first N / 4 of each corpus, dealt out to
    # `tasks` tasks (STL: one task holding them all), written as one IOB file per task.
    per_corpus = args.sentences // len(CORPORA)
    work = Path(tempfile.mkdtemp())
    files: Dict[str, List[str]] = {}
    for i, corpus in enumerate(CORPORA):
        task = "all" if tasks == 1 else f"task{i % tasks}"
        sentences = read_iob_sentences(str(root / corpus / "train.tsv"))
        for sentence, _ in zip(sentences, range(per_corpus)):
            lines = [f"{w}\t{t}" for w, t in zip(sentence.words, sentence.tags)]
            files.setdefault(task, []).append("\n".join(lines) + "\n")
    indexer = {
        "type": "bioner_pieces",
        "model_name": args.encoder,
        "max_length": 512,
    }
    readers, paths = {}, {}
    for task, sentences in files.items():
        paths[task] = str(work / f"{task}.tsv")
        Path(paths[task]).write_text("\n".join(sentences), encoding="utf-8")
        readers[task] = IobTaggingReader.from_params(
            Params(
                {"token_indexers": {"tokens": dict(indexer)}, "label_namespace": f"{task}_labels"}
            )
        )
    loader = MixedTaskDataLoader(
        MultiTaskDatasetReader(readers), paths, batch_size=args.batch_size, padding_noise=0.0
    )
    instances = list(loader.iter_instances())
    vocab = Vocabulary.from_instances(instances)
    loader.index_with(vocab)
    task_names = sorted({i["task"].metadata for i in instances})
    split = {} if tasks == 1 else {"shared_layers": args.shared_layers}
    model = Model.from_params(
        vocab=vocab,
        params=Params(
            {
                "type": "bioner_tagger",
                "tasks": task_names,
                "embedder": {"model_name": args.encoder, "max_length": 512, **split},
            }
        ),
    )
    optimizer = Optimizer.from_params(
        model_parameters=list(model.named_parameters()),
        params=Params({"type": "bioner_layerwise_adamw", "lr": 3e-5}),
    )

    rows: Dict[str, int] = {}

    def count(name):
        def hook(module, inputs, output):
            hidden = inputs[0]
            # XLNet layers take [seq, batch, dim], BERT layers [batch, seq, dim].
            batch_dim = 1 if "XLNet" in type(module).__name__ else 0
            rows[name] = rows.get(name, 0) + hidden.size(batch_dim)

        return hook

    split_module = model.embedder.split
    for i, layer in enumerate(split_module.lower_layers):
        layer.register_forward_hook(count(f"lower{i}"))
    for layers in split_module.upper_stacks.values():
        for i, layer in layers.items():
            layer.register_forward_hook(count(f"upper{i}"))

    model.train()
    batches = list(loader)
    seen = 0

    phases = {"forward": 0.0, "backward": 0.0, "optimizer": 0.0}

    def step(batch):
        # Wall time per phase: where a gap to STL comes from (compute on instances, or the
        # optimizer's work per parameter, which grows with the number of upper-layer copies).
        # "forward" includes zero_grad (a memset of the gradients, also per parameter).
        t0 = time.perf_counter()
        optimizer.zero_grad()
        loss = model(**batch)["loss"]
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        phases["forward"] += t1 - t0
        phases["backward"] += t2 - t1
        phases["optimizer"] += t3 - t2

    step(batches[0])  # warm-up, not timed
    rows.clear()
    phases.update({name: 0.0 for name in phases})
    started, cpu_started = time.perf_counter(), time.process_time()
    for batch in batches:
        step(batch)
        seen += len(batch["task"])
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    n = split_module.num_layers
    k = split_module.shared_layers
    shared_passes = sum(v for key, v in rows.items() if key.startswith("lower")) / seen
    upper_passes = sum(v for key, v in rows.items() if key.startswith("upper")) / seen
    return {
        "sentences_per_s": seen / elapsed,
        # CPU seconds of this process per sentence: less sensitive than wall time to other load.
        "cpu_ms_per_sentence": 1000 * cpu / seen,
        **{f"{name}_ms_per_batch": 1000 * t / len(batches) for name, t in phases.items()},
        "parameters_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "shared_passes": shared_passes,
        "upper_passes": upper_passes,
        "expected_shared": k,
        "expected_upper": n - k,
        "tasks": len(task_names),
        "sentences": seen,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default=str(ROOT / "models/all-MiniLM-L6-v2"))
    parser.add_argument("--data-root", default="")
    parser.add_argument("--sentences", type=int, default=192)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--shared-layers", type=int, default=3, help="k for MTL-LS (3 of 6 = 0.5)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--configs", nargs="+", default=["stl", "mtl_ls-2", "mtl_ls-4"])
    parser.add_argument("--output-md")
    parser.add_argument("--config", help=argparse.SUPPRESS)  # internal: run one configuration
    args = parser.parse_args()
    if args.config:
        print(json.dumps(run_one(args)))
        return
    _data_root(args.data_root)

    results = run_interleaved(__file__, args)

    def median(config: str, key: str) -> float:
        return statistics.median(r[key] for r in results[config])

    stl = median("stl", "sentences_per_s")
    stl_cpu = median("stl", "cpu_ms_per_sentence")
    stl_compute = median("stl", "forward_ms_per_batch") + median("stl", "backward_ms_per_batch")
    lines = [
        f"Encoder `{Path(args.encoder).name}`, {args.sentences} training sentences from "
        f"{', '.join(c[:-4] for c in CORPORA)}, batch size {args.batch_size}, MTL-LS k = "
        f"{args.shared_layers}, {args.rounds} interleaved rounds, {args.threads} torch threads; "
        "medians.",
        "",
        "| configuration | tasks | parameters (M) | sentences/s | ratio to STL "
        "| CPU-time ratio to STL | forward / backward / optimizer (ms per batch) "
        "| forward + backward ratio to STL | peak RSS (MB) "
        "| shared-layer passes / instance | upper-layer passes / instance |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for config, runs in results.items():
        speed = median(config, "sentences_per_s")
        phases = [median(config, f"{p}_ms_per_batch") for p in ("forward", "backward", "optimizer")]
        rss = max(r["peak_rss_mb"] for r in runs)
        r = runs[0]
        lines.append(
            f"| {config} | {r['tasks']} | {r['parameters_m']:.1f} | {speed:.2f} | "
            f"{speed / stl:.2f} | {stl_cpu / median(config, 'cpu_ms_per_sentence'):.2f} | "
            f"{' / '.join(f'{t:.0f}' for t in phases)} | "
            f"{stl_compute / (phases[0] + phases[1]):.2f} | {rss:.0f} | "
            f"{r['shared_passes']:.2f} (expected {r['expected_shared']}) | "
            f"{r['upper_passes']:.2f} (expected {r['expected_upper']}) |"
        )
    lines += ["", f"Python {platform.python_version()}, {os.cpu_count()} cores, no GPU."]
    report(lines, args.output_md)


if __name__ == "__main__":
    main()
