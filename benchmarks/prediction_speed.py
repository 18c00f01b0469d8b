"""Prediction speed and peak RSS: our `bioner` predictor (fp32, int8) against peers, one run.

The same input for everyone: the test sentences of a corpus, each a document of raw text (its
tokens joined by spaces). Every configuration runs in its own subprocess (its own peak RSS) and
the configurations are interleaved over rounds, so the load of this shared machine hits all
alike; the report gives medians and ratios, by wall time and by the process's CPU time (less
sensitive to other load on the machine).

- `ours-fp32`, `ours-int8`, `ours-int8-all`: `Predictor.from_path(archive, "bioner")`, documents
  in calls of `--documents-per-call` (`predict_batch_json`; default all of them, so that the
  predictor's length-sorted batches are the bare encoder's), tokenisation, sentence splitting,
  one pass of all heads, CRF marginals and offsets included; int8 with the default fp32 layers
  (0, 1, n-1), or with every encoder layer in int8 (`int8_fp32_layers: []`).
- `crf_tagger`: allennlp-models' `crf_tagger` on the same encoder (`pretrained_transformer_
  mismatched` embedder) with its `sentence_tagger` predictor, calls of 64 sentences. Its
  constructor builds a spaCy tokenizer that needs a model download; a whitespace tokenizer stands
  in (the input is pre-tokenised text).
- `hf-pipeline`: a Hugging Face `token-classification` pipeline on the same encoder, batch 32;
  `hf-pipeline-b1` the same pipeline as it comes (batch size 1).
- `encoder-fp32`: the bare encoder forward on the same sentences in length-sorted batches of 32
  (pieces from the encoder's tokenizer): the ceiling for a tagger built on it; `encoder-int8`
  the same with every Linear module of the encoder dynamically quantised (the issue's figure).
- `heads-T`: `tag` of an MTL-LS-shaped model (k = 3 of 6) with T task heads on the
  same batches, against T = 1 (STL): the cost of multi-type tagging, bound (k + T (n - k)) / n.
- `onnx-fp32`, `onnx-int8`: the runtime's `Tagger` (no torch in the process: these run in the
  runtime's environment, `--runtime-python`) on the folders `allennlp bioner-export` wrote from
  the same archive (`--onnx-folder`, `--onnx-int8-folder`), end to end as `ours`: raw text in,
  records with entities out, all documents in one `tag` call.
- `onnx-encoder`: the bare encoder exported to ONNX (Hugging Face `AutoModel`, opset 14; the
  driver writes it to `--bare-onnx` once) run by ONNX Runtime on the runtime's length-sorted
  batches of 32 (the `Tagger`'s own batches): the ceiling of `onnx-fp32`.
- `onnx-heads-T`: the `Tagger` on an exported MTL-LS folder (`--onnx-mtl-folder`) with its first
  T tasks: the cost of T heads on one shared pass.

With `--cold-start N`, also the time from process start to the first output line of
`bioner-tag FOLDER -` (the runtime) and of `allennlp bioner-tag ARCHIVE -`, one short document
on stdin, median of N runs each.

    .venv/bin/python benchmarks/prediction_speed.py \
        --archive benchmarks/runs/stl_minilm_ncbi/model.tar.gz --output-md /tmp/speed.md
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

from interleave import report, run_interleaved

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = [
    "ours-fp32",
    "ours-int8",
    "ours-int8-all",
    "crf_tagger",
    "hf-pipeline",
    "hf-pipeline-b1",
    "encoder-fp32",
    "encoder-int8",
    "heads-1",
    "heads-2",
    "heads-4",
    "onnx-fp32",
    "onnx-int8",
    "onnx-encoder",
    "onnx-heads-1",
    "onnx-heads-2",
]
# Each configuration's folder option; `onnx-encoder` reads the fp32 folder's tokenizer.
_ONNX_FOLDER = {
    "onnx-fp32": "onnx_folder",
    "onnx-int8": "onnx_int8_folder",
    "onnx-encoder": "onnx_folder",
    "onnx-heads-1": "onnx_mtl_folder",
    "onnx-heads-2": "onnx_mtl_folder",
}


def _sentences(args: argparse.Namespace) -> List[List[str]]:
    """The words of the first `--sentences` test sentences (word TAB tag lines, a blank line
    after each sentence): read here, without the plugin, so that the runtime's configurations
    read them in an environment without torch."""
    root = Path(
        args.data_root
        or os.environ.get("HSL_BIONER_DATA")
        or ROOT.parent / "shared/data/MTL-Bioinformatics-2016"
    )
    path = root / args.corpus / "test.tsv"
    if not path.is_file():
        sys.exit(f"{path} not found: pass --data-root or set HSL_BIONER_DATA")
    sentences: List[List[str]] = [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            if not line.startswith("-DOCSTART-"):
                sentences[-1].append(line.split("\t")[0])
        elif sentences[-1]:
            sentences.append([])
    return [words for words in sentences if words][: args.sentences]


def _chunks(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


def _sorted_batches(sentences, size):
    return _chunks(sorted(sentences, key=len), size)


def _measure(work, sentences: int) -> Dict[str, float]:
    work()  # warm-up, not timed (also loads lazy parts)
    started, cpu_started = time.perf_counter(), time.process_time()
    work()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "sentences_per_s": sentences / elapsed,
        "sentences_per_cpu_s": sentences / cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_onnx(args: argparse.Namespace) -> Dict[str, float]:
    """One `onnx-*` configuration, in the runtime's environment (numpy, onnxruntime, tokenizers:
    no torch)."""
    sentences = _sentences(args)
    texts = [" ".join(words) for words in sentences]
    folder = getattr(args, _ONNX_FOLDER[args.config])
    if args.config == "onnx-encoder":
        import numpy
        import onnxruntime
        from tokenizers import Tokenizer

        from hsl_bioner_runtime.folder import load_folder
        from hsl_bioner_runtime.pieces import PieceEncoder

        exported = load_folder(folder)
        pieces = PieceEncoder(
            Tokenizer.from_file(str(exported.tokenizer)),
            exported.special_tokens,
            exported.max_length,
        )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            args.bare_onnx, options, providers=["CPUExecutionProvider"]
        )
        # The runtime's batches, built once: this configuration is the encoder alone.
        batches = [
            pieces.batch(pieces.encode_batch(batch)) for batch in _sorted_batches(sentences, 32)
        ]

        def work():
            for batch in batches:
                session.run(
                    None,
                    {
                        "input_ids": batch.token_ids,
                        "attention_mask": batch.mask.astype(numpy.int64),
                        "token_type_ids": batch.type_ids,
                    },
                )

    else:
        from hsl_bioner_runtime import Tagger

        tasks = None
        if args.config.startswith("onnx-heads-"):
            heads = int(args.config.split("-")[-1])
            tasks = Tagger.load(folder).describe()["tasks"]
            tasks = list(tasks)[:heads]
            if len(tasks) < heads:
                sys.exit(f"{folder} has {len(tasks)} tasks; {args.config} needs {heads}")
        tagger = Tagger.load(folder, tasks=tasks, threads=args.threads)

        def work():
            tagger.tag(texts)

    return _measure(work, len(sentences))


def run_one(args: argparse.Namespace) -> Dict[str, float]:
    if args.config.startswith("onnx"):
        return run_onnx(args)
    import torch

    torch.set_num_threads(args.threads)
    import hsl_bioner  # noqa: F401

    sentences = _sentences(args)
    texts = [" ".join(words) for words in sentences]
    config = args.config

    if config.startswith("ours"):
        from allennlp.predictors import Predictor

        # Archives from before the bioner_pieces indexer existed: index as our configs now do
        # (the same ids; the embedder reads that indexer's outputs).
        readers = json.loads(
            subprocess.run(
                ["tar", "-xzOf", args.archive, "config.json"], capture_output=True, text=True
            ).stdout
        )["dataset_reader"]["readers"]
        indexer = "bioner_pieces"
        fast = {f"dataset_reader.readers.{t}.token_indexers.tokens.type": indexer for t in readers}
        int8 = {} if config == "ours-fp32" else {"int8": True}
        if config == "ours-int8-all":
            int8["int8_fp32_layers"] = []
        predictor = Predictor.from_path(args.archive, "bioner", overrides=json.dumps(fast), **int8)

        per_call = args.documents_per_call or len(texts)

        def work():
            for chunk in _chunks([{"text": t} for t in texts], per_call):
                predictor.predict_batch_json(chunk)

    elif config == "crf_tagger":
        from allennlp.common import Params
        from allennlp.data import Vocabulary
        from allennlp.data.dataset_readers import SequenceTaggingDatasetReader
        from allennlp.data.tokenizers import WhitespaceTokenizer
        from allennlp.models import Model
        from allennlp.predictors import Predictor
        from allennlp_models.tagging.models import CrfTagger  # noqa: F401  (registers crf_tagger)
        from allennlp_models.tagging.predictors import SentenceTaggerPredictor

        indexer = {
            "type": "pretrained_transformer_mismatched",
            "model_name": args.encoder,
            "max_length": 512,
        }
        reader = SequenceTaggingDatasetReader.from_params(
            Params({"token_indexers": {"tokens": indexer}})
        )
        vocab = Vocabulary()
        vocab.add_tokens_to_namespace(["O", "B-Disease", "I-Disease"], "labels")
        model = Model.from_params(
            vocab=vocab,
            params=Params(
                {
                    "type": "crf_tagger",
                    "text_field_embedder": {
                        "token_embedders": {
                            "tokens": {
                                "type": "pretrained_transformer_mismatched",
                                "model_name": args.encoder,
                                "max_length": 512,
                            }
                        }
                    },
                    "encoder": {"type": "pass_through", "input_dim": 384},
                    "label_encoding": "BIO",
                    "constrain_crf_decoding": True,
                }
            ),
        ).eval()
        predictor = SentenceTaggerPredictor.__new__(SentenceTaggerPredictor)
        Predictor.__init__(predictor, model, reader)
        predictor._tokenizer = WhitespaceTokenizer()

        def work():
            for chunk in _chunks([{"sentence": t} for t in texts], 64):
                predictor.predict_batch_json(chunk)

    elif config.startswith("hf-pipeline"):
        from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

        model = AutoModelForTokenClassification.from_pretrained(args.encoder, num_labels=3).eval()
        tagger = pipeline(
            "token-classification",
            model=model,
            tokenizer=AutoTokenizer.from_pretrained(args.encoder),
            device=-1,
        )

        def work():
            list(tagger(texts, batch_size=1 if config == "hf-pipeline-b1" else 32))

    elif config.startswith("encoder"):
        from transformers import AutoModel, AutoTokenizer

        model = AutoModel.from_pretrained(args.encoder).eval()
        if config == "encoder-int8":
            model = torch.ao.quantization.quantize_dynamic(
                model, {torch.nn.Linear}, dtype=torch.qint8
            )
        tokenizer = AutoTokenizer.from_pretrained(args.encoder)

        def work():
            with torch.no_grad():
                for batch in _sorted_batches(sentences, 32):
                    encoded = tokenizer(
                        batch,
                        is_split_into_words=True,
                        padding=True,
                        truncation=True,
                        return_tensors="pt",
                    )
                    model(**encoded)

    else:  # heads-T
        from allennlp.common import Params
        from allennlp.data import Batch, Token, Vocabulary
        from allennlp.data.fields import TextField
        from allennlp.data.instance import Instance
        from allennlp.data.token_indexers import PretrainedTransformerMismatchedIndexer
        from allennlp.models import Model

        heads = int(config.split("-")[1])
        tasks = [f"task{i}" for i in range(heads)]
        vocab = Vocabulary()
        for task in tasks:
            vocab.add_tokens_to_namespace(["O", "B-Disease", "I-Disease"], f"{task}_labels")
        split = {} if heads == 1 else {"shared_layers": 3}
        model = Model.from_params(
            vocab=vocab,
            params=Params(
                {
                    "type": "bioner_tagger",
                    "tasks": tasks,
                    "embedder": {"model_name": args.encoder, "max_length": 512, **split},
                }
            ),
        ).eval()
        indexer = PretrainedTransformerMismatchedIndexer(args.encoder, max_length=512)
        batches = []
        for batch in _sorted_batches(sentences, 32):
            instances = [
                Instance({"tokens": TextField([Token(w) for w in words], {"tokens": indexer})})
                for words in batch
            ]
            for instance in instances:
                instance.index_fields(vocab)
            batches.append(Batch(instances).as_tensor_dict())

        def work():
            with torch.no_grad():
                for tensors in batches:
                    model.tag(tensors["tokens"], tasks)

    return _measure(work, len(sentences))


def export_bare_encoder(encoder: str, path: str) -> None:
    """The Hugging Face encoder alone as an ONNX graph (opset 14, dynamic rows and length), the
    `onnx-encoder` configuration's model."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(encoder).eval()

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = torch.ones(2, 8, dtype=torch.long)
    torch.onnx.export(
        Hidden(),
        (example, example, torch.zeros_like(example)),
        path,
        opset_version=14,
        input_names=names,
        output_names=["hidden"],
        dynamic_axes={name: {0: "rows", 1: "length"} for name in names + ["hidden"]},
    )


def cold_start(command: List[str], runs: int) -> Optional[float]:
    """Median seconds from process start to the first line on stdout, one short document on
    stdin; None when the command fails."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        process.stdin.write("Familial adenomatous polyposis is a cancer syndrome.\n")
        process.stdin.close()
        line = process.stdout.readline()
        times.append(time.perf_counter() - started)
        process.stdout.read()
        if process.wait() != 0 or not line:
            return None
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", required=True, help="a bioner model archive on --encoder")
    parser.add_argument("--encoder", default=str(ROOT / "models/all-MiniLM-L6-v2"))
    parser.add_argument("--data-root", default="")
    parser.add_argument("--corpus", default="NCBI-disease-IOB")
    parser.add_argument("--sentences", type=int, default=480)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--documents-per-call", type=int, default=0, help="ours: documents per call (0: all)"
    )
    parser.add_argument("--onnx-folder", help="bioner-export of --archive (onnx-fp32)")
    parser.add_argument("--onnx-int8-folder", help="bioner-export --int8 of --archive")
    parser.add_argument("--onnx-mtl-folder", help="bioner-export of an MTL-LS archive")
    parser.add_argument(
        "--bare-onnx",
        default="/tmp/hsl_bioner_bare_encoder.onnx",
        help="the bare encoder's ONNX graph (written by the driver when absent)",
    )
    parser.add_argument(
        "--runtime-python",
        default=str(ROOT / ".venv-runtime/bin/python"),
        help="the interpreter of the onnx-* configurations (the runtime's environment)",
    )
    parser.add_argument(
        "--cold-start", type=int, default=0, help="also time N cold starts of each bioner-tag"
    )
    parser.add_argument("--configs", nargs="+", default=CONFIGS)
    parser.add_argument("--output-md")
    parser.add_argument("--config", help=argparse.SUPPRESS)  # internal: run one configuration
    args = parser.parse_args()
    if args.config:
        print(json.dumps(run_one(args)))
        return
    _sentences(args)
    for config in args.configs:
        if config in _ONNX_FOLDER and not getattr(args, _ONNX_FOLDER[config]):
            option = "--" + _ONNX_FOLDER[config].replace("_", "-")
            sys.exit(f"{config} needs {option} (leave it out of --configs otherwise)")
    if "onnx-encoder" in args.configs and not Path(args.bare_onnx).is_file():
        export_bare_encoder(args.encoder, args.bare_onnx)

    results = run_interleaved(
        __file__,
        args,
        python_for=lambda c: args.runtime_python if c.startswith("onnx") else sys.executable,
    )

    def medians(key: str) -> Dict[str, float]:
        return {c: statistics.median(r[key] for r in runs) for c, runs in results.items()}

    speed, cpu_speed = medians("sentences_per_s"), medians("sentences_per_cpu_s")
    rss = {c: max(r["peak_rss_mb"] for r in runs) for c, runs in results.items()}
    lines = [
        f"{args.sentences} {args.corpus[:-4]} test sentences, encoder `{Path(args.encoder).name}`, "
        f"{args.rounds} interleaved rounds, {args.threads} torch threads; medians.",
        "",
        "| configuration | sentences/s | vs ours-fp32 | sentences / CPU-s | vs ours-fp32 "
        "| peak RSS (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for config in args.configs:
        ratios = [
            f"{v[config] / v['ours-fp32']:.2f}" if "ours-fp32" in v else "-"
            for v in (speed, cpu_speed)
        ]
        lines.append(
            f"| {config} | {speed[config]:.1f} | {ratios[0]} | {cpu_speed[config]:.1f} | "
            f"{ratios[1]} | {rss[config]:.0f} |"
        )
    checks = [
        ("ours fp32 / crf_tagger", "ours-fp32", "crf_tagger", "≥ 1.0"),
        ("ours fp32 / HF pipeline", "ours-fp32", "hf-pipeline", "≥ 1.0"),
        ("ours fp32 / bare encoder", "ours-fp32", "encoder-fp32", "≥ 0.9"),
        ("ours int8 / HF pipeline", "ours-int8", "hf-pipeline", "≥ 3"),
        ("ours int8 (all layers) / HF pipeline", "ours-int8-all", "hf-pipeline", "≥ 3"),
        ("ours int8 / HF pipeline at batch size 1", "ours-int8", "hf-pipeline-b1", "-"),
        ("ours int8 / ours fp32", "ours-int8", "ours-fp32", "-"),
        ("ours int8 (all layers) / bare encoder int8", "ours-int8-all", "encoder-int8", "-"),
        ("bare encoder int8 / fp32", "encoder-int8", "encoder-fp32", "-"),
        ("ONNX fp32 end to end / bare ONNX encoder", "onnx-fp32", "onnx-encoder", "≥ 0.9"),
        ("ONNX fp32 / torch fp32 (ours)", "onnx-fp32", "ours-fp32", "-"),
        ("ONNX int8 / torch int8 (ours)", "onnx-int8", "ours-int8", "-"),
        ("ONNX int8 / ONNX fp32", "onnx-int8", "onnx-fp32", "-"),
    ]
    pipelines = [c for c in ("hf-pipeline", "hf-pipeline-b1") if c in speed]
    if pipelines:
        best = max(pipelines, key=lambda c: speed[c])
        checks += [
            (f"ONNX fp32 / the pipeline's best ({best})", "onnx-fp32", best, "≥ 2.5"),
            (f"ONNX int8 / the pipeline's best ({best})", "onnx-int8", best, "≥ 5"),
        ]
    lines += ["", "Ratios by wall time (by CPU time, less sensitive to other load):", ""]
    for name, a, b, target in checks:
        if a in speed and b in speed:
            lines.append(
                f"- {name}: {speed[a] / speed[b]:.2f} ({cpu_speed[a] / cpu_speed[b]:.2f}), "
                f"target {target}"
            )
    if "heads-1" in speed:
        for config in args.configs:
            if config.startswith("heads-") and config != "heads-1":
                t = int(config.split("-")[1])
                lines.append(
                    f"- {t} heads cost {speed['heads-1'] / speed[config]:.2f}x "
                    f"({cpu_speed['heads-1'] / cpu_speed[config]:.2f}x) one STL model "
                    f"(bound (k + T(n-k))/n = {(3 + t * 3) / 6:.2f}, not T = {t})"
                )
    if "onnx-heads-1" in speed and "onnx-heads-2" in speed:
        lines.append(
            f"- ONNX: 2 heads cost {speed['onnx-heads-1'] / speed['onnx-heads-2']:.2f}x "
            f"({cpu_speed['onnx-heads-1'] / cpu_speed['onnx-heads-2']:.2f}x) one head of the same "
            "MTL-LS folder (bound (k + T(n-k))/n = 1.50 for k = 3 of 6)"
        )
    if "onnx-fp32" in rss and "ours-fp32" in rss:
        lines.append(
            f"- peak RSS, runtime fp32 / torch predictor fp32: "
            f"{rss['onnx-fp32'] / rss['ours-fp32']:.2f}, target ≤ 0.5"
        )
    if args.cold_start:
        runtime_cli = [str(Path(args.runtime_python).parent / "bioner-tag")]
        commands = {
            "runtime `bioner-tag FOLDER -`": runtime_cli + [args.onnx_folder or "", "-"],
            "`allennlp bioner-tag ARCHIVE -`": [
                str(Path(sys.executable).parent / "allennlp"),
                "bioner-tag",
                args.archive,
                "-",
            ],
        }
        lines += ["", f"Cold start, process start to first output line (median of "
                  f"{args.cold_start}):", ""]
        for name, command in commands.items():
            seconds = cold_start(command + ["--no-progress"], args.cold_start)
            lines.append(f"- {name}: " + ("failed" if seconds is None else f"{seconds:.2f} s"))
    report(lines, args.output_md)


if __name__ == "__main__":
    main()
