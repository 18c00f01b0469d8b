"""Parity of the exported runtime with the torch predictor, and the accuracy of int8, on real
test (and development) sets.

For an archive and each of its tasks, the sentences of the task's test file (and, with
``--sets devel test``, its development file) become documents of raw text (the sentence's words
joined by spaces) and are tagged by the `bioner` predictor three ways, through the same
documents-to-records path (`hsl_bioner_runtime.tagging`): the torch model (``backend: torch``),
the fp32 export and the int8 export (``backend: onnx`` on folders `allennlp bioner-export`
wrote, ``--fp32-folder`` / ``--int8-folder``; exported here into ``--work`` when not given). Each
task's documents are tagged by that task's head only.

Reported per task and set: the agreement of the fp32 export's entities with torch's (identical
(start, end, type) entities / all distinct entities of either; target ≥ 99.9%) and the largest
score difference of the shared ones; entity-level F1 of torch, fp32 and int8 against the gold
spans of the file (exact character offsets and type, the spans mapped onto the joined text), and
the differences (targets: fp32 within 0.05, int8 within 0.3 F1 points).

    .venv/bin/python benchmarks/export_parity.py --archive ARCHIVE --work /tmp/parity \\
        --sets devel test --output-md /tmp/parity.md
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Dict, List, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
Entity = Tuple[int, int, str]


def _read(path: Path) -> List[Tuple[List[str], List[str]]]:
    """(words, tags) of each sentence of an IOB file (word TAB tag, blank line between)."""
    sentences: List[Tuple[List[str], List[str]]] = [([], [])]
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            if not line.startswith("-DOCSTART-"):
                word, tag = line.split("\t")[0], line.split("\t")[-1]
                sentences[-1][0].append(word)
                sentences[-1][1].append(tag)
        elif sentences[-1][0]:
            sentences.append(([], []))
    return [s for s in sentences if s[0]]


def _gold(words: List[str], tags: List[str], entity_type: str) -> Set[Entity]:
    """The gold spans of a sentence as character offsets into ``" ".join(words)``."""
    from hsl_bioner_runtime.tag_schemes import TagSequenceError, tags_to_spans

    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word) + 1
    try:
        found = tags_to_spans(tags, "BIO")
    except TagSequenceError:  # an I- after O: read as IOB1, as the reader's re-coding does
        found = tags_to_spans(tags, "IOB1")
    spans = set()
    for label, first, last in found:
        spans.add((starts[first], starts[last] + len(words[last]), entity_type or label))
    return spans


def _f1(predicted: List[Set[Entity]], gold: List[Set[Entity]]) -> float:
    hits = sum(len(p & g) for p, g in zip(predicted, gold))
    found, true = sum(map(len, predicted)), sum(map(len, gold))
    precision, recall = hits / found if found else 0.0, hits / true if true else 0.0
    return 100 * 2 * precision * recall / (precision + recall) if hits else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", required=True)
    parser.add_argument("--work", required=True, help="folder for the exports made here")
    parser.add_argument("--fp32-folder")
    parser.add_argument("--int8-folder")
    parser.add_argument("--data-root", default="")
    parser.add_argument("--sets", nargs="+", default=["test"], choices=["devel", "test"])
    parser.add_argument("--output-md")
    args = parser.parse_args()

    from allennlp.predictors import Predictor

    import hsl_bioner  # noqa: F401  (registers the plugin)
    from hsl_bioner.export import export_archive

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    folders = {"fp32": args.fp32_folder, "int8": args.int8_folder}
    for precision, folder in folders.items():
        if not folder:
            folder = str(work / f"{Path(args.archive).parent.name}-{precision}")
            if not Path(folder, "manifest.json").is_file():
                export_archive(args.archive, folder, int8=precision == "int8", force=True)
            folders[precision] = folder

    root = Path(
        args.data_root
        or os.environ.get("HSL_BIONER_DATA")
        or ROOT.parent / "shared/data/MTL-Bioinformatics-2016"
    )
    torch_predictor = Predictor.from_path(args.archive, "bioner")
    tasks = list(torch_predictor.tasks)
    lines = [
        f"Archive `{args.archive}`; fp32 export `{folders['fp32']}`, int8 export "
        f"`{folders['int8']}`; each task's sentences tagged by its own head.",
        "",
        "| task | set | sentences | entities (torch) | fp32 = torch | max score diff "
        "| F1 torch | F1 fp32 | Δ | F1 int8 | Δ |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    results = []
    for task in tasks:
        predictors = {
            "torch": Predictor.from_path(args.archive, "bioner", tasks=[task]),
            "fp32": Predictor.from_path(
                args.archive, "bioner", tasks=[task], backend="onnx", export_dir=folders["fp32"]
            ),
            "int8": Predictor.from_path(
                args.archive,
                "bioner",
                tasks=[task],
                backend="onnx",
                int8=True,
                export_dir=folders["int8"],
            ),
        }
        entity_type = _task_type(predictors["torch"], task)
        for split in args.sets:
            path = root / f"{task}-IOB" / f"{split}.tsv"
            if not path.is_file():
                sys.exit(f"{path} not found: pass --data-root or set HSL_BIONER_DATA")
            sentences = _read(path)
            documents = [{"text": " ".join(words)} for words, _ in sentences]
            gold = [_gold(words, tags, entity_type) for words, tags in sentences]
            found: Dict[str, List[Dict[Entity, float]]] = {}
            for name, predictor in predictors.items():
                records = []
                for begin in range(0, len(documents), 256):
                    records += predictor.predict_batch_json(documents[begin : begin + 256])
                found[name] = [
                    {(e["start"], e["end"], e["type"]): e["score"] for e in r["entities"]}
                    for r in records
                ]
            same = sum(len(t.keys() & f.keys()) for t, f in zip(found["torch"], found["fp32"]))
            union = sum(len(t.keys() | f.keys()) for t, f in zip(found["torch"], found["fp32"]))
            score_diff = max(
                (
                    abs(t[key] - f[key])
                    for t, f in zip(found["torch"], found["fp32"])
                    for key in t.keys() & f.keys()
                ),
                default=0.0,
            )
            f1 = {name: _f1([set(s) for s in sets], gold) for name, sets in found.items()}
            row = {
                "task": task,
                "set": split,
                "sentences": len(sentences),
                "entities": sum(map(len, found["torch"])),
                "agreement": 100 * same / union if union else 100.0,
                "max_score_diff": score_diff,
                **{f"f1_{name}": value for name, value in f1.items()},
            }
            results.append(row)
            lines.append(
                f"| {task} | {split} | {row['sentences']} | {row['entities']} | "
                f"{row['agreement']:.3f}% | {score_diff:.4f} | {f1['torch']:.2f} | "
                f"{f1['fp32']:.2f} | {f1['fp32'] - f1['torch']:+.2f} | {f1['int8']:.2f} | "
                f"{f1['int8'] - f1['torch']:+.2f} |"
            )
            print(lines[-1], flush=True)
    table = "\n".join(lines)
    print(table)
    print(json.dumps(results))
    if args.output_md:
        Path(args.output_md).write_text(table + "\n", encoding="utf-8")


def _task_type(predictor, task: str) -> str:
    """The entity type of a task's head (its tags' type; the gold tags of its file carry the
    corpus' type names, mapped to it like the reader does), or "" to keep the file's."""
    model = predictor._model
    tags = model.heads[model.group_of_task[task]].crf.tags
    types = sorted({tag[2:] for tag in tags if len(tag) > 2 and tag[1] == "-"})
    return types[0] if len(types) == 1 else ""


if __name__ == "__main__":
    main()
