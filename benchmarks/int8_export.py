"""F1 and speed of exported folders: fp32, dynamic int8 and static int8 (issue 14, item 5).

Exports the archive once per variant (`hsl_bioner.export.export_archive`), then tags the
development and test sets of every task named by the archive's config with ONNX Runtime (one
thread) and the runtime's numpy CRF decoder, exactly as the runtime does: pieces from the exported
tokenizer.json (`PieceEncoder`), the shared graph once per batch, each head's group graph, each
word's scores at its first piece, `hsl_bioner_runtime.crf.decode`. Prints entity-level F1 per
head (exact span and type, `hsl_bioner_runtime.tag_schemes` spans) and sentences per CPU-second
of this process (encoder + decoding, length-sorted batches of 32, tokenisation excluded; CPU time,
not wall time, because the machine is shared), all variants in one run.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/int8_export.py \\
        --archive ../parity_runs/work/stl_NCBI-disease/model.tar.gz --work /tmp/int8_export \\
        --variants fp32 dynamic:0,-1 dynamic: static:0,-1
"""

import argparse
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy
import onnxruntime
from allennlp.common import Params
from tokenizers import Tokenizer

import hsl_bioner  # noqa: F401
from hsl_bioner.data.iob_reader import read_iob_sentences
from hsl_bioner.export import export_archive
from hsl_bioner_runtime.crf import decode
from hsl_bioner_runtime.folder import ExportedModel, load_folder
from hsl_bioner_runtime.pieces import PieceEncoder
from hsl_bioner_runtime.tag_schemes import map_spans, tags_to_spans

BATCH = 32


def parse_variant(text: str) -> Tuple[str, Dict]:
    """"fp32", or "<method>:<fp32 layers, comma-separated>" (e.g. "dynamic:0,-1", "static:")."""
    if text == "fp32":
        return text, {}
    method, _, layers = text.partition(":")
    fp32_layers = [int(i) for i in layers.split(",") if i.strip()]
    return text, {"int8": True, "int8_method": method, "fp32_layers": fp32_layers}


def tag(exported: ExportedModel, sentences: List[List[str]], task: str) -> Tuple[List, float]:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    group = exported.group_of_task[task]
    shared = onnxruntime.InferenceSession(str(exported.shared_graph), options)
    head = onnxruntime.InferenceSession(str(exported.group_graphs[group]), options)
    pieces = PieceEncoder(
        Tokenizer.from_file(str(exported.tokenizer)), exported.special_tokens, exported.max_length
    )
    encoded = pieces.encode_batch(sentences)
    order = sorted(range(len(sentences)), key=lambda i: len(encoded[i].ids))
    tags: List = [None] * len(sentences)
    start = time.process_time()
    for begin in range(0, len(order), BATCH):
        rows = order[begin : begin + BATCH]
        batch = pieces.batch([encoded[i] for i in rows])
        feed = {"attention_mask": batch.mask.astype(numpy.int64), "token_type_ids": batch.type_ids}
        (hidden,) = shared.run(["hidden"], {"input_ids": batch.token_ids, **feed})
        (emissions,) = head.run(["emissions"], {"hidden": hidden, **feed})
        words = emissions.reshape(-1, emissions.shape[-1])[batch.word_index]
        for i, tagging in zip(
            rows, decode(words, batch.word_mask.sum(1), exported.crfs[group], probabilities=False)
        ):
            tags[i] = tagging.tags
    return tags, len(sentences) / (time.process_time() - start)


def f1(gold: List[List], predicted: List[List]) -> float:
    correct = sum(len(set(g) & set(p)) for g, p in zip(gold, predicted))
    found, wanted = sum(map(len, predicted)), sum(map(len, gold))
    return 200.0 * correct / (found + wanted) if found + wanted else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", required=True)
    parser.add_argument("--work", required=True, help="where the exported folders go")
    parser.add_argument("--variants", nargs="+", default=["fp32", "dynamic:0,-1", "static:0,-1"])
    parser.add_argument("--sets", nargs="+", default=["validation", "test"])
    args = parser.parse_args()

    config = Params.from_file(str(Path(args.archive).parent / "config.json")).as_dict()
    readers = config["dataset_reader"].get("readers")
    paths = {name: config[f"{name}_data_path"] for name in args.sets}
    rows = []
    for variant in args.variants:
        label, options = parse_variant(variant)
        folder = Path(args.work) / label.replace(":", "_").replace(",", "_")
        began = time.perf_counter()
        export_archive(args.archive, str(folder), force=True, **options)
        exported = load_folder(folder)
        seconds = time.perf_counter() - began
        for task in exported.tasks:
            reader = readers[task] if readers else config["dataset_reader"]
            type_map = reader.get("type_map")
            for name, by_task in paths.items():
                path = by_task[task] if isinstance(by_task, dict) else by_task
                sentences = list(read_iob_sentences(path))
                predicted, speed = tag(exported, [s.words for s in sentences], task)
                gold = [map_spans(tags_to_spans(s.tags, "BIO"), type_map) for s in sentences]
                spans = [tags_to_spans(t, exported.label_encoding) for t in predicted]
                rows.append((label, task, name, f1(gold, spans), speed, seconds))
                print(f"{label:14} {task:16} {name:10} F1 {rows[-1][3]:6.2f}  {speed:6.1f} "
                      "sentences/CPU-s", flush=True)
    print("\n| variant | task | set | F1 | ΔF1 vs fp32 | sentences/CPU-s | × fp32 | export (s) |")
    print("|---|---|---|---|---|---|---|---|")
    base = {(task, name): (score, speed) for label, task, name, score, speed, _ in rows
            if label == "fp32"}
    for label, task, name, score, speed, seconds in rows:
        ref = base.get((task, name), (score, speed))
        print(f"| {label} | {task} | {name} | {score:.2f} | {score - ref[0]:+.2f} | "
              f"{speed:.1f} | {speed / ref[1]:.2f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
