"""A benchmark of this checkout against the same benchmark of an earlier checkout, in one run.

For a change that must not change speed (a refactoring): runs one benchmark script of this
repository (``throughput.py``, ``prediction_speed.py``: any script whose ``--config C`` run
prints one JSON object with ``sentences_per_s`` on its last line) from two checkouts, each
configuration in a fresh process, interleaved over rounds (before C1, after C1, before C2, after
C2, ... per round) so that the load of this shared machine hits both alike. Each side runs its own
copy of the script with its own package first on ``PYTHONPATH`` (the plugin and the runtime of
that checkout, in this environment), so registered names and file layouts may differ between
them; options a side needs alone (an archive it trained, say) go in ``--before-options`` and
``--after-options``. Prints medians and the after / before ratios of sentences/s and, when the
script reports it, of CPU time per sentence.

    git worktree add /tmp/before <commit>
    .venv/bin/python benchmarks/before_after.py --before /tmp/before --script throughput.py \\
        --configs stl mtl_ls-2 mtl_ls-4 --rounds 3 --options "--threads 1"
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from interleave import report

ROOT = Path(__file__).resolve().parent.parent


def run_side(checkout: Path, script: str, config: str, options: List[str]) -> Dict[str, float]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(checkout / "runtime"), str(checkout), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    command = [sys.executable, str(checkout / "benchmarks" / script), "--config", config, *options]
    done = subprocess.run(command, capture_output=True, text=True, cwd=checkout, env=env)
    if done.returncode != 0:
        sys.exit(f"{checkout}: {config} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _value(result: Dict[str, float], key: str) -> Optional[float]:
    """`key` of one run; CPU ms per sentence also from `sentences_per_cpu_s` (prediction_speed)."""
    if key in result:
        return result[key]
    if key == "cpu_ms_per_sentence" and result.get("sentences_per_cpu_s"):
        return 1000 / result["sentences_per_cpu_s"]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the earlier checkout")
    parser.add_argument("--after", type=Path, default=ROOT, help="default: this checkout")
    parser.add_argument("--script", required=True, help="a script of benchmarks/")
    parser.add_argument("--configs", nargs="+", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--options", default="", help="options of both sides' runs")
    parser.add_argument("--before-options", default="", help="options of the earlier side only")
    parser.add_argument("--after-options", default="", help="options of this side only")
    parser.add_argument("--output-md")
    args = parser.parse_args()

    sides = {
        "before": (args.before.resolve(), shlex.split(args.options + " " + args.before_options)),
        "after": (args.after.resolve(), shlex.split(args.options + " " + args.after_options)),
    }
    results: Dict[str, Dict[str, List[Dict[str, float]]]] = {
        side: {config: [] for config in args.configs} for side in sides
    }
    for round_ in range(args.rounds):
        for config in args.configs:
            for side, (checkout, options) in sides.items():
                result = run_side(checkout, args.script, config, options)
                results[side][config].append(result)
                print(
                    f"round {round_ + 1} {config} {side}: "
                    f"{result['sentences_per_s']:.2f} sentences/s",
                    flush=True,
                )

    def median(side: str, config: str, key: str) -> float:
        values = [_value(r, key) for r in results[side][config]]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else float("nan")

    lines = [
        f"`{args.script}` {args.options}, {args.rounds} interleaved rounds; before = "
        f"{args.before}, after = {args.after}; medians.",
        "",
        "| configuration | sentences/s before | sentences/s after | after / before "
        "| CPU ms per sentence before | after | CPU-time ratio (before / after) |",
        "|---|---|---|---|---|---|---|",
    ]
    for config in args.configs:
        speed = {side: median(side, config, "sentences_per_s") for side in sides}
        cpu = {side: median(side, config, "cpu_ms_per_sentence") for side in sides}
        lines.append(
            f"| {config} | {speed['before']:.2f} | {speed['after']:.2f} | "
            f"{speed['after'] / speed['before']:.2f} | {cpu['before']:.2f} | {cpu['after']:.2f} "
            f"| {cpu['before'] / cpu['after']:.2f} |"
        )
    report(lines, args.output_md)


if __name__ == "__main__":
    main()
