"""Runs a benchmark's configurations in fresh subprocesses, interleaved over rounds.

Each configuration runs in its own process (so its peak RSS is its own) and the configurations
alternate (A B C A B C ...), so that the load of a shared machine hits all of them alike.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
# Options of the driver that a single-configuration run does not take.
_DRIVER_ONLY = ("config", "configs", "output_md", "rounds", "cold_start")


def run_interleaved(
    script: str,
    args: argparse.Namespace,
    python_for: Optional[Callable[[str], str]] = None,
) -> Dict[str, List[Dict[str, float]]]:
    """Runs `script --config C` with the driver's other options for every C of `args.configs`,
    `args.rounds` times; each run prints its result as a JSON object on its last line.
    `python_for(C)` is the interpreter of configuration C (default: this one), e.g. the runtime's
    own environment for configurations that must run without torch."""
    options = [
        f"--{key.replace('_', '-')}={value}"
        for key, value in vars(args).items()
        if key not in _DRIVER_ONLY and value not in (None, "")
    ]
    results: Dict[str, List[Dict[str, float]]] = {config: [] for config in args.configs}
    for round_ in range(args.rounds):
        for config in args.configs:
            python = python_for(config) if python_for else sys.executable
            command = [python, script, "--config", config, *options]
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            if done.returncode != 0:
                sys.exit(f"{config} failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results[config].append(result)
            print(
                f"round {round_ + 1} {config}: {result['sentences_per_s']:.2f} sentences/s",
                flush=True,
            )
    return results


def report(lines: List[str], output_md: Optional[str]) -> None:
    """Prints a benchmark's Markdown report and, with `output_md`, writes it there too."""
    table = "\n".join(lines)
    print(table)
    if output_md:
        Path(output_md).write_text(table + "\n", encoding="utf-8")
