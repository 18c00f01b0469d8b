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
from typing import Dict, List

from interleave import run_interleaved

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
]


def _sentences(args: argparse.Namespace) -> List[List[str]]:
    from hsl_bioner.data.iob_reader import read_iob_sentences

    root = Path(
        args.data_root
        or os.environ.get("HSL_BIONER_DATA")
        or ROOT.parent / "shared/data/MTL-Bioinformatics-2016"
    )
    path = root / args.corpus / "test.tsv"
    if not path.is_file():
        sys.exit(f"{path} not found: pass --data-root or set HSL_BIONER_DATA")
    sentences = [s.words for s in read_iob_sentences(str(path))]
    return sentences[: args.sentences]


def _chunks(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


def _sorted_batches(sentences, size):
    return _chunks(sorted(sentences, key=len), size)


def run_one(args: argparse.Namespace) -> Dict[str, float]:
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

    work()  # warm-up, not timed (also loads lazy parts)
    started, cpu_started = time.perf_counter(), time.process_time()
    work()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "sentences_per_s": len(sentences) / elapsed,
        "sentences_per_cpu_s": len(sentences) / cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


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
    parser.add_argument("--configs", nargs="+", default=CONFIGS)
    parser.add_argument("--output-md")
    parser.add_argument("--config", help=argparse.SUPPRESS)  # internal: run one configuration
    args = parser.parse_args()
    if args.config:
        print(json.dumps(run_one(args)))
        return
    _sentences(args)

    results = run_interleaved(__file__, args)

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
    table = "\n".join(lines)
    print(table)
    if args.output_md:
        Path(args.output_md).write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
