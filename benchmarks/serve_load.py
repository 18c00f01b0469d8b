"""Load, batching and fault benchmark of `bioner-serve`, on localhost, bounded in count and time.

The service runs in a subprocess (`python -m hsl_bioner_runtime.service.cli FOLDER`) on a free
port; N concurrent clients (threads of this process, keep-alive connections,
`hsl_bioner_runtime.service.loadtest`) each send `--requests-per-client` requests of ONE
abstract-sized text (``{"texts": [abstract]}``), at N = 1, 4, 16 (`--clients`). Reported per N:
requests/s and documents/s (wall time of the whole level), latency p50 / p95 / p99, and from the
service's ``/health`` the tagger calls the level made: documents and sentences per call, and
documents per encoder batch (a call of S sentences runs ceil(S / batch size) encoder batches).
Every answer is checked against the peer's record of the same text: a wrong or lost answer
fails the run.

- Peer: the same abstracts tagged by `Tagger.tag` directly, in this process, in one call
  (length-sorted batches of `--batch-size` sentences, the service's encoder batching at its
  best, no HTTP): the ceiling of the service's documents/s; the table gives the ratio.
- One request at a time: the same levels against a second service started with
  ``--max-batch 1`` (each tagger call one request): the gain of cross-request batching. Both
  services run at once and the levels alternate between them, so that the machine's load hits
  both alike; documents per CPU-second of the service process (all its threads, from /proc) are
  less sensitive to that load than documents per second.
- Faults: 16 clients sending a shuffled mix of valid, malformed, oversized requests and clients
  that disconnect mid-request or walk away from their answer; every valid request must be
  answered correctly and the service must answer ``/health`` at the end.

Abstracts: the sentences of an IOB file (default: NCBI-disease's test set under
`HSL_BIONER_DATA`), their tokens joined by spaces, `--sentences-per-abstract` to an abstract
(~10 sentences, ~250 tokens: a PubMed abstract). Without `--folder` the tiny test folder of
`runtime/tests/folders.py` (random weights: speed of the plumbing, not of a model) is used.

    .venv-runtime/bin/python benchmarks/serve_load.py --folder exports/minilm_ncbi \\
        --output-md /tmp/serve_load.md

The clients share the machine's cores with the service (and, on this shared machine, with
whatever else runs): the load average before and after is printed with the figures.
"""
import argparse
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from hsl_bioner_runtime.formats.writers import to_json
from hsl_bioner_runtime.service import loadtest
from hsl_bioner_runtime.tagger import Tagger

ROOT = Path(__file__).resolve().parents[1]


def read_abstracts(path: Path, per_abstract: int, count: int) -> List[str]:
    """`count` abstracts of `per_abstract` sentences of the IOB file at `path` (tokens joined
    by spaces), cycling through the file if it is too short."""
    sentences, words = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            words.append(line.split("\t")[0])
        elif words:
            sentences.append(" ".join(words))
            words = []
    if words:
        sentences.append(" ".join(words))
    if not sentences:
        raise SystemExit(f"{path}: no sentences")
    return [
        " ".join(sentences[(i * per_abstract + j) % len(sentences)] for j in range(per_abstract))
        for i in range(count)
    ]


def test_folder(directory: Path) -> Path:
    sys.path.insert(0, str(ROOT / "runtime" / "tests"))
    from folders import make_folder

    return make_folder(directory / "folder")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def health(url: str) -> Dict[str, Any]:
    with urllib.request.urlopen(f"{url}health", timeout=10) as response:
        return json.loads(response.read())


class Service:
    """`bioner-serve` in a subprocess, until `stop`."""

    def __init__(self, folder: Path, settings: Sequence[str]) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hsl_bioner_runtime.service.cli", str(folder),
             "--port", str(port), "--log-level", "warning", *settings],
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                health(self.url)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(
                        f"bioner-serve did not start ({' '.join(settings)})"
                    ) from None
                time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the service process so far, all its threads (Linux)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def load_level(
    service: Service, abstracts: Sequence[str], expected: Sequence[bytes], clients: int,
    per_client: int, batch_size: int,
) -> Dict[str, Any]:
    count = clients * per_client
    chosen = [i % len(abstracts) for i in range(count)]
    probes = [loadtest.valid_probe([abstracts[i]], expected[i]) for i in chosen]
    before = health(service.url)["batching"]
    cpu_before = service.cpu_seconds()
    started = time.perf_counter()
    outcomes = loadtest.drive(service.url, probes, clients)
    wall = time.perf_counter() - started
    cpu = service.cpu_seconds() - cpu_before
    after = health(service.url)["batching"]
    bad = [o for o in outcomes if not o.ok]
    if len(outcomes) != count or bad:
        raise SystemExit(f"{clients} clients: {len(bad)} wrong or lost answers of {count}: "
                         f"{[(o.status, o.error) for o in bad[:3]]}")
    calls = after["calls"] - before["calls"]
    documents = after["documents"] - before["documents"]
    sentences = after["sentences"] - before["sentences"]
    # Calls are not seen one by one: the mean call's sentences give its encoder batches.
    encoder_batches = calls * math.ceil(sentences / calls / batch_size)
    latencies = [o.seconds for o in outcomes]
    return {
        "clients": clients,
        "requests": count,
        "seconds": round(wall, 3),
        "requests_per_second": round(count / wall, 2),
        "documents_per_second": round(documents / wall, 2),
        "documents_per_cpu_second": round(documents / cpu, 2),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * percentile(latencies, 0.95), 1),
        "p99_ms": round(1000 * percentile(latencies, 0.99), 1),
        "tagger_calls": calls,
        "documents_per_call": round(documents / calls, 2),
        "sentences_per_call": round(sentences / calls, 1),
        "documents_per_encoder_batch": round(documents / encoder_batches, 2),
    }


def fault_mix(
    service: Service, abstracts: Sequence[str], expected: Sequence[bytes], limit: int,
    count: int,
) -> Dict[str, Any]:
    rng = random.Random(15)
    probes = []
    for _ in range(count):
        kind = rng.choices(loadtest.KINDS, weights=[6, 1, 1, 1, 1])[0]
        i = rng.randrange(len(abstracts))
        if kind == "valid":
            probes.append(loadtest.valid_probe([abstracts[i]], expected[i]))
        elif kind == "malformed":
            probes.append(loadtest.malformed_probe())
        elif kind == "oversized":
            probes.append(loadtest.oversized_probe(limit))
        elif kind == "disconnect":
            probes.append(loadtest.disconnect_probe([abstracts[i]]))
        else:
            probes.append(loadtest.abandon_probe([abstracts[i]]))
    started = time.perf_counter()
    outcomes = loadtest.drive(service.url, probes, 16)
    wall = time.perf_counter() - started
    by_kind: Dict[str, Dict[str, int]] = {}
    for outcome in outcomes:
        counts = by_kind.setdefault(outcome.kind, {"sent": 0, "as_expected": 0})
        counts["sent"] += 1
        counts["as_expected"] += outcome.ok
    alive = health(service.url)["status"] == "ok"
    return {"probes": len(probes), "answered": len(outcomes), "seconds": round(wall, 2),
            "by_kind": by_kind, "alive_after": alive}


def markdown(report: Dict[str, Any]) -> str:
    peer = report["peer"]
    lines = [
        f"Folder: `{report['folder']}`; {report['abstracts']} abstracts of "
        f"{report['sentences_per_abstract']} sentences ({report['tokens_per_abstract']} tokens "
        f"on average); batch size {report['batch_size']} sentences, threads "
        f"{report['threads'] or 'default'}; load average {report['load_before']} before, "
        f"{report['load_after']} after.",
        "",
        f"Peer, `Tagger.tag` of all {peer['documents']} abstracts in one call, no HTTP: "
        f"**{peer['documents_per_second']} documents/s**, "
        f"{peer['documents_per_cpu_second']} documents per CPU-second.",
        "",
        "| service | clients | requests/s | documents/s | vs peer | docs / CPU-s | vs peer "
        "| p50 ms | p95 ms | p99 ms | docs / call | sentences / call | docs / encoder batch |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, levels in report["levels"].items():
        for level in levels:
            lines.append(
                f"| {mode} | {level['clients']} | {level['requests_per_second']} | "
                f"{level['documents_per_second']} | "
                f"{level['documents_per_second'] / peer['documents_per_second']:.2f} | "
                f"{level['documents_per_cpu_second']} | "
                f"{level['documents_per_cpu_second'] / peer['documents_per_cpu_second']:.2f} | "
                f"{level['p50_ms']} | {level['p95_ms']} | {level['p99_ms']} | "
                f"{level['documents_per_call']} | {level['sentences_per_call']} | "
                f"{level['documents_per_encoder_batch']} |"
            )
    lines.append("")
    batched = {level["clients"]: level for level in report["levels"]["batched"]}

    def gains(key: str) -> str:
        return ", ".join(
            f"{level['clients']} client{'s' if level['clients'] != 1 else ''} "
            f"{batched[level['clients']][key] / level[key]:.2f}×"
            for level in report["levels"]["one-at-a-time"]
            if level["clients"] in batched
        )

    lines.append("Gain of cross-request batching (batched / one at a time): requests/s "
                 + gains("requests_per_second") + "; documents per service CPU-second "
                 + gains("documents_per_cpu_second") + ".")
    faults = report["faults"]
    kinds = ", ".join(f"{kind} {c['as_expected']}/{c['sent']}"
                      for kind, c in sorted(faults["by_kind"].items()))
    lines += ["", f"Faults, 16 clients, {faults['probes']} requests in {faults['seconds']} s "
              f"(as expected / sent): {kinds}; service alive after: {faults['alive_after']}."]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, help="exported folder (default: the test folder)")
    parser.add_argument("--iob", type=Path, help="IOB file of the abstracts' sentences")
    parser.add_argument("--abstracts", type=int, default=64)
    parser.add_argument("--sentences-per-abstract", type=int, default=10)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests-per-client", type=int, default=8,
                        help="requests of each client at each level (default 8)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--fault-requests", type=int, default=200)
    parser.add_argument("--output-md", type=Path)
    parser.add_argument("--output-json", type=Path)
    args = parser.parse_args(argv)

    data = os.environ.get("HSL_BIONER_DATA", ROOT.parent / "shared/data/MTL-Bioinformatics-2016")
    iob = args.iob or Path(data) / "NCBI-disease-IOB" / "test.tsv"
    if not iob.is_file():
        sys.exit(f"{iob} not found: pass --iob or set HSL_BIONER_DATA")
    abstracts = read_abstracts(iob, args.sentences_per_abstract, args.abstracts)
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or test_folder(Path(scratch))
        tagger = Tagger.load(folder, threads=args.threads, batch_size=args.batch_size)
        tagger.tag(abstracts[:4])  # warm up
        started, cpu_started = time.perf_counter(), time.process_time()
        records = tagger.tag(abstracts)
        peer_seconds = time.perf_counter() - started
        peer_cpu = time.process_time() - cpu_started
        expected = [to_json(record).encode() for record in records]
        del tagger
        common = ["--batch-size", str(args.batch_size)]
        if args.threads:
            common += ["--threads", str(args.threads)]
        limit = 200_000
        levels: Dict[str, List[Dict[str, Any]]] = {}
        faults: Dict[str, Any] = {}
        # Both services up at once and the levels interleaved, so that changes in the load of
        # the machine hit both modes alike (the idle one costs no CPU).
        services = {
            mode: Service(folder, common + ["--max-batch", str(max_batch),
                                            "--max-body-bytes", str(limit)])
            for mode, max_batch in (("batched", args.max_batch), ("one-at-a-time", 1))
        }
        try:
            for service in services.values():
                load_level(service, abstracts, expected, 2, 2, args.batch_size)  # warm up
            for clients in args.clients:
                for mode, service in services.items():
                    level = load_level(service, abstracts, expected, clients,
                                       args.requests_per_client, args.batch_size)
                    print(mode, json.dumps(level), flush=True)
                    levels.setdefault(mode, []).append(level)
            faults = fault_mix(services["batched"], abstracts, expected, limit,
                               args.fault_requests)
            print("faults", json.dumps(faults), flush=True)
        finally:
            for service in services.values():
                service.stop()
    report = {
        "folder": str(args.folder or "runtime/tests/folders.py (random weights)"),
        "abstracts": len(abstracts),
        "sentences_per_abstract": args.sentences_per_abstract,
        "tokens_per_abstract": round(statistics.mean(len(a.split()) for a in abstracts)),
        "batch_size": args.batch_size,
        "threads": args.threads,
        "load_before": load_before,
        "load_after": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "peer": {"documents": len(abstracts), "seconds": round(peer_seconds, 3),
                 "documents_per_second": round(len(abstracts) / peer_seconds, 2),
                 "documents_per_cpu_second": round(len(abstracts) / peer_cpu, 2)},
        "levels": levels,
        "faults": faults,
    }
    text = markdown(report)
    print(text)
    if args.output_md:
        args.output_md.write_text(text)
    if args.output_json:
        args.output_json.write_text(json.dumps(report, indent=2) + "\n")
    failed = [kind for kind, c in faults["by_kind"].items() if c["as_expected"] != c["sent"]]
    if failed or not faults["alive_after"] or faults["answered"] != faults["probes"]:
        raise SystemExit(f"fault mix: unexpected answers for {failed}")


if __name__ == "__main__":
    main()
