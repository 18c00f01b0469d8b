"""Large tagging jobs: documents/s and sentences/s of the runtime's sharded `bioner-tag` with 1
and 2 workers, locally and on Ray, against one `allennlp bioner-tag` process (the peer).

The corpus: at least 20,000 abstract-sized documents (default: about 1,500 characters, the size
of a PubMed abstract) made of the sentences of the corpora's test text
(``<data root>/<corpus>-IOB/test.tsv``, every distinct sentence of every corpus, detokenised by
`tokenization_agreement.detokenize_sentence`), consecutive sentences of one corpus per document,
written as JSON-lines shards of ``--shard-size`` documents into WORK/corpus (outside the
repository: the corpora are not ours to copy), and once more as one file for the peer.

Each configuration runs as the command a user would type, in a fresh process, on the same corpus,
with its output in WORK/runs/<configuration> (removed first, so nothing is skipped):

- ``process, N threads``: ``bioner-tag FOLDER SHARDS --output-dir OUT --threads N`` (one
  process, one ONNX session on N threads);
- ``local, N workers``: ``... --workers N`` (N processes of one thread);
- ``ray, N workers``: ``... --workers N --ray`` (a new local Ray instance, started by the command
  and counted in its time, as a user would see it);
- ``peer``: ``allennlp bioner-tag ARCHIVE corpus.jsonl --output-file OUT`` (torch, one process,
  torch's default threads), on the whole corpus or its first ``--peer-documents``.

Documents and sentences come from the job's manifest (the peer's from its output). Scaling
efficiency = rate with 2 workers / (2 x rate with 1). fp32 and, with ``--int8-folder``, int8.
Documents per CPU-second (the command's and its worker processes' CPU time; not for Ray, whose
actors are not its children) is the per-core speed of the capacity plan, and varies less than
wall time with other load on the machine.

The numbers mean something only on an otherwise idle machine. At fp32 MiniLM speed (3.6
documents per core-second) a configuration of one worker takes about 95 minutes on the 20,000
documents and one of two about 50; all six default configurations (process-1 is left out: it is
local-1 without the pool) about 8 hours, int8 about 3 more; ``--configs`` runs a subset.

Smoke run (small corpus)::

    .venv-runtime/bin/python benchmarks/large_jobs.py --work /tmp/large_jobs_smoke \\
        --folder MODEL_DIR --documents 500 --configs local-1 local-2

Full run::

    .venv-runtime/bin/python benchmarks/large_jobs.py --work /tmp/large_jobs \\
        --archive model.tar.gz --folder MODEL_DIR --int8-folder MODEL_DIR_INT8 \\
        --output-md /tmp/large_jobs.md
"""

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from tokenization_agreement import detokenize_sentence, read_sentences, resolve_data_root

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ("process-1", "process-2", "local-1", "local-2", "ray-1", "ray-2", "peer")


def corpus_sentences(data_root: Path) -> List[str]:
    """Every distinct sentence of every corpus's test.tsv, corpus by corpus (in name order), in
    its order (the corpora sharing a text, e.g. BC5CDR and BC5CDR-chem, count once)."""
    seen = set()
    texts: List[str] = []
    for path in sorted(data_root.glob("*-IOB/test.tsv")):
        for sentence in read_sentences(path):
            text = detokenize_sentence(sentence)[0]
            if text not in seen:
                seen.add(text)
                texts.append(text)
    if not texts:
        sys.exit(f"{data_root}: no <corpus>-IOB/test.tsv found (--data-root)")
    return texts


def build_corpus(
    work: Path, data_root: Path, documents: int, shard_size: int, characters: int, seed: int
) -> Dict[str, Any]:
    """Writes the shards and the peer's single file into WORK/corpus; returns its description
    (kept in corpus.json: an existing corpus of the same description is reused)."""
    description = {
        "documents": documents,
        "shard_size": shard_size,
        "characters": characters,
        "seed": seed,
        "data_root": str(data_root),
    }
    folder = work / "corpus"
    stamp = folder / "corpus.json"
    if stamp.is_file() and json.loads(stamp.read_text())["description"] == description:
        return json.loads(stamp.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "shards").mkdir(parents=True)
    sentences = corpus_sentences(data_root)
    rng = random.Random(seed)
    lengths = []
    shard = None
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as single:
        for number in range(documents):
            if number % shard_size == 0:
                if shard is not None:
                    shard.close()
                shard = open(folder / "shards" / f"part-{number // shard_size:05d}.jsonl", "w")
            # Consecutive sentences from a random place: an abstract-like run of one corpus.
            position = rng.randrange(len(sentences))
            parts: List[str] = []
            while sum(map(len, parts)) + len(parts) < characters:
                parts.append(sentences[position % len(sentences)])
                position += 1
            line = json.dumps({"id": f"bench-{number}", "text": " ".join(parts)})
            lengths.append(len(parts))
            single.write(line + "\n")
            shard.write(line + "\n")
    shard.close()
    info = {
        "description": description,
        "distinct_sentences": len(sentences),
        "sentences_per_document": sum(lengths) / len(lengths),
        "shards": len(list((folder / "shards").iterdir())),
        "bytes": (folder / "corpus.jsonl").stat().st_size,
    }
    stamp.write_text(json.dumps(info, indent=2) + "\n")
    return info


def runtime_command(config: str, folder: str, shards: str, output: Path) -> List[str]:
    kind, count = config.rsplit("-", 1)
    command = [sys.executable, "-m", "hsl_bioner_runtime.cli", folder, shards]
    command += ["--output-dir", str(output), "--no-progress", "--batch-size", "32"]
    if kind == "process":
        return command + ["--threads", count]
    command += ["--workers", count]
    return command + ["--ray"] if kind == "ray" else command


def run_config(
    config: str, folder: Optional[str], args: argparse.Namespace, runs: Path, env: Dict[str, str]
) -> Optional[Dict[str, Any]]:
    """Runs one configuration with its output in `runs`; its documents, sentences, seconds and
    rates (None when the model it needs was not given)."""
    work = Path(args.work).resolve()
    output = runs / config
    shutil.rmtree(output, ignore_errors=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    if config == "peer":
        if args.archive is None:
            return None
        command = [args.allennlp, "bioner-tag", args.archive, str(peer_input(work, args))]
        command += ["--output-file", str(output) + ".jsonl", "--no-progress", "--batch-size", "32"]
    else:
        if folder is None:
            return None
        command = runtime_command(config, folder, str(work / "corpus" / "shards"), output)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The command's CPU time and its workers' (Ray's actors are not its children: not counted).
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{completed.stderr[-3000:]}")
    if config == "peer":
        documents = sentences = 0
        with open(str(output) + ".jsonl", encoding="utf-8") as stream:
            for line in stream:
                documents += 1
                sentences += len(json.loads(line)["sentences"])
        output_bytes = os.path.getsize(str(output) + ".jsonl")
    else:
        job = json.loads((output / "manifest" / "job.json").read_text())
        documents, sentences = job["totals"]["documents"], job["totals"]["sentences"]
        output_bytes = sum(shard["output_bytes"] for shard in job["shards"])
    return {
        "config": config,
        "command": " ".join(command),
        "documents": documents,
        "sentences": sentences,
        "seconds": round(seconds, 2),
        "documents_per_s": documents / seconds,
        "sentences_per_s": sentences / seconds,
        "output_bytes_per_document": output_bytes / documents,
        "cpu_seconds": None if config.startswith("ray") else round(cpu, 2),
        "documents_per_cpu_s": None if config.startswith("ray") else documents / cpu,
    }


def peer_input(work: Path, args: argparse.Namespace) -> Path:
    """The peer's input: the whole corpus, or its first `--peer-documents` documents (the peer is
    several times slower; its rate is per document all the same)."""
    whole = work / "corpus" / "corpus.jsonl"
    if not args.peer_documents:
        return whole
    prefix = work / "corpus" / f"corpus-first-{args.peer_documents}.jsonl"
    with open(whole, encoding="utf-8") as source, open(prefix, "w", encoding="utf-8") as target:
        for number, line in enumerate(source):
            if number == args.peer_documents:
                break
            target.write(line)
    return prefix


def efficiency(results: Dict[str, Dict[str, Any]], kind: str) -> Optional[float]:
    one, two = results.get(f"{kind}-1"), results.get(f"{kind}-2")
    if not one or not two:
        return None
    return two["documents_per_s"] / (2 * one["documents_per_s"])


def same_outputs(runs: Path) -> Optional[bool]:
    """Whether every runtime configuration in `runs` wrote the same output shards (byte for
    byte)."""
    runs = sorted(path for path in runs.iterdir() if path.is_dir())
    if len(runs) < 2:
        return None

    def shards(run: Path) -> Dict[str, bytes]:
        return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}

    first = shards(runs[0])
    return all(shards(run) == first for run in runs[1:])


PUBMED_ABSTRACTS = 36_000_000
HOURS = 24


def capacity_plan(report: Dict[str, Any]) -> List[str]:
    """PubMed at the measured per-core speed (documents per CPU-second of one worker of one
    thread): core-hours, and cores for a 24-hour run."""
    lines = []
    for precision, results in report["results"].items():
        one = results.get("local-1")
        if not one:
            continue
        per_core = one["documents_per_cpu_s"]
        core_hours = PUBMED_ABSTRACTS / per_core / 3600
        lines.append(
            f"- {precision}: {per_core:.2f} documents per core-second -> "
            f"{core_hours:,.0f} core-hours for {PUBMED_ABSTRACTS / 1e6:.0f} M abstracts, "
            f"{core_hours / HOURS:,.0f} cores for a {HOURS}-hour run; output "
            f"{one['output_bytes_per_document'] * PUBMED_ABSTRACTS / 1e9:,.0f} GB of "
            f"{report['format']} ({one['output_bytes_per_document'] / 1e3:.1f} kB per document)"
        )
    return lines


def markdown(report: Dict[str, Any]) -> str:
    lines = [
        f"Corpus: {report['corpus']['description']['documents']} documents "
        f"({report['corpus']['sentences_per_document']:.1f} sentences each on average, "
        f"{report['corpus']['bytes'] / 1e6:.1f} MB of JSON lines, "
        f"{report['corpus']['shards']} shards); machine: {report['machine']}.",
        "",
        "| precision | configuration | documents/s | sentences/s | seconds | scaling efficiency "
        "| documents per CPU-second |",
        "|---|---|---|---|---|---|---|",
    ]
    for precision, results in report["results"].items():
        for config, result in results.items():
            kind = config.rsplit("-", 1)[0]
            scaling = efficiency(results, kind) if config.endswith("-2") else None
            per_cpu = result["documents_per_cpu_s"]
            lines.append(
                f"| {precision} | {config} | {result['documents_per_s']:.1f} | "
                f"{result['sentences_per_s']:.1f} | {result['seconds']:.1f} | "
                f"{'' if scaling is None else f'{scaling:.2f}'} | "
                f"{'' if per_cpu is None else f'{per_cpu:.2f}'} |"
            )
    lines.append("")
    for precision, identical in report["identical"].items():
        lines.append(
            f"{precision}: output shards identical in every runtime configuration: {identical}"
        )
    lines += ["", "PubMed at this speed:", ""] + capacity_plan(report)
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True, help="a folder outside the repository")
    parser.add_argument("--data-root", help="MTL-Bioinformatics-2016 (default: ../shared/data)")
    parser.add_argument("--folder", help="the exported model (fp32)")
    parser.add_argument("--int8-folder", help="the same model exported with --int8")
    parser.add_argument("--archive", help="model.tar.gz, for the peer")
    parser.add_argument(
        "--allennlp",
        default=str(ROOT / ".venv" / "bin" / "allennlp"),
        help="the peer's allennlp command (default: .venv's)",
    )
    parser.add_argument("--documents", type=int, default=20000)
    parser.add_argument(
        "--peer-documents", type=int, default=0, help="the peer tags only the first N (0: all)"
    )
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--characters", type=int, default=1500, help="of a document, at least")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--configs",
        nargs="+",
        choices=CONFIGS,
        # process-1 is local-1 without the pool: not run unless asked for.
        default=[config for config in CONFIGS if config != "process-1"],
    )
    parser.add_argument("--output-md", help="also write the table here")
    args = parser.parse_args(argv)
    work = Path(args.work).resolve()
    if ROOT in work.parents or work == ROOT:
        sys.exit(f"--work {work} is inside the repository: the corpora must not be copied into it")
    corpus = build_corpus(
        work,
        resolve_data_root(args.data_root),
        args.documents,
        args.shard_size,
        args.characters,
        args.seed,
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'runtime'}{os.pathsep}{ROOT}"}
    report: Dict[str, Any] = {
        "corpus": corpus,
        "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}",
        "format": "json",
        "results": {},
        "identical": {},
    }
    for precision, folder in (("fp32", args.folder), ("int8", args.int8_folder)):
        if folder is None and not (precision == "fp32" and args.archive):
            continue
        results = {}
        runs = work / "runs" / precision
        for config in args.configs:
            if config == "peer" and precision == "int8":
                continue  # the peer's int8 (torch dynamic quantisation) is another benchmark
            result = run_config(config, folder, args, runs, env)
            if result is not None:
                results[config] = result
                print(json.dumps({"precision": precision, **result}), flush=True)
        report["results"][precision] = results
        report["identical"][precision] = same_outputs(runs)
    (work / "large_jobs.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    print(table)
    if args.output_md:
        Path(args.output_md).write_text(table)


if __name__ == "__main__":
    main()
