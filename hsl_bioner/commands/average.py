"""`allennlp bioner-average`: one model from the mean weights of a run's last N checkpoints.

The paper reported the average of the test scores of its last five checkpoints. Averaging the
checkpoints' *weights* gives one model that can be evaluated and served like any other archive
(checkpoint averaging in the sense of Vaswani et al. 2017 / Izmailov et al. 2018).

AllenNLP's checkpointer writes ``model_state_e{epochs}_b{batches}.th`` into the serialization
directory (``e3_b0`` = the end of the third epoch; ``_b{n}`` > 0 for mid-epoch checkpoints) and
keeps the most recent few (our configs: ``trainer.checkpointer.keep_most_recent_by_count: 5``).
This command takes the last N of them in training order, averages every floating-point tensor
(integer buffers, such as position ids, are taken from the newest checkpoint), and writes a
``model.tar.gz``-style archive with the run's ``config.json`` and vocabulary:

    allennlp bioner-average runs/mtl_ls --last 5 --output runs/mtl_ls/model_avg.tar.gz
    allennlp evaluate runs/mtl_ls/model_avg.tar.gz NCBI-disease=.../test.tsv

The run must be finished or at least have N checkpoints; it may use any registered model (the
archive is AllenNLP's own format).
"""

import argparse
import json
import logging
import re
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Union

import torch
from allennlp.commands.subcommand import Subcommand
from allennlp.common.checks import ConfigurationError
from allennlp.models.archival import archive_model

logger = logging.getLogger(__name__)

# AllenNLP's Checkpointer names: model_state_e{epochs}_b{batches}[_w{rank}].th
_CHECKPOINT = re.compile(r"^model_state_e(\d+)_b(\d+)(_w\d+)?\.th$")


@Subcommand.register("bioner-average")
class AverageCheckpoints(Subcommand):
    """Registered as the `allennlp` subcommand "bioner-average"."""

    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "Average the weights of the last N checkpoints (model_state_e*_b*.th) of a training "
            "run into one model archive that `allennlp evaluate` and `predict` load."
        )
        subparser = parser.add_parser(self.name, description=description, help=description)
        subparser.add_argument(
            "serialization_dir", help="the run's serialization directory (-s of allennlp train)"
        )
        subparser.add_argument(
            "--last",
            type=int,
            default=5,
            help="how many of the most recent checkpoints to average (default: 5)",
        )
        subparser.add_argument(
            "--output",
            help="archive to write (default: SERIALIZATION_DIR/model_avg.tar.gz)",
        )
        subparser.set_defaults(func=_average_from_args)
        return subparser


def _average_from_args(args: argparse.Namespace) -> None:
    output = args.output or str(Path(args.serialization_dir) / "model_avg.tar.gz")
    used = average_checkpoints(args.serialization_dir, args.last, output)
    print(f"Averaged {', '.join(path.name for path in used)} into {output}")


def find_checkpoints(serialization_dir: Union[str, Path]) -> List[Path]:
    """The run's model checkpoints in training order (oldest first)."""
    directory = Path(serialization_dir)
    if not directory.is_dir():
        raise ConfigurationError(f"{directory} is not a directory (give the -s of allennlp train).")
    found = []
    sharded = []
    for path in directory.iterdir():
        match = _CHECKPOINT.match(path.name)
        if match is None:
            continue
        if match.group(3):
            sharded.append(path.name)
            continue
        found.append(((int(match.group(1)), int(match.group(2))), path))
    if not found and sharded:
        raise ConfigurationError(
            f"{directory} holds only sharded (per-worker) checkpoints "
            f"({', '.join(sorted(sharded))}); "
            "averaging them is not supported."
        )
    return [path for _, path in sorted(found)]


def average_state_dicts(states: List[Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    """The element-wise mean of the floating-point tensors of `states` (in float64, cast back to
    each tensor's dtype); other tensors are taken from the last state. All states must have the
    same keys and shapes."""
    if not states:
        raise ValueError("Nothing to average.")
    newest = states[-1]
    for index, state in enumerate(states[:-1]):
        if state.keys() != newest.keys():
            different = sorted(set(state) ^ set(newest))
            raise ConfigurationError(
                f"Checkpoint {index} has other parameters than the newest one: {different[:5]}"
            )
    averaged: Dict[str, torch.Tensor] = {}
    for name, tensor in newest.items():
        if torch.is_floating_point(tensor):
            shapes = {tuple(state[name].shape) for state in states}
            if len(shapes) > 1:
                raise ConfigurationError(f"'{name}' changes shape between checkpoints: {shapes}")
            total = torch.zeros_like(tensor, dtype=torch.float64)
            for state in states:
                total += state[name].to(torch.float64)
            averaged[name] = (total / len(states)).to(tensor.dtype)
        else:
            averaged[name] = tensor.clone()
    return averaged


def average_checkpoints(
    serialization_dir: Union[str, Path], last: int, output: Union[str, Path]
) -> List[Path]:
    """Writes `output`, an archive of the run's config and vocabulary with the mean weights of
    its `last` most recent checkpoints; returns the checkpoints used (oldest first)."""
    if last < 1:
        raise ConfigurationError(f"--last must be at least 1, got {last}.")
    available = find_checkpoints(serialization_dir)
    if len(available) < last:
        raise ConfigurationError(
            f"{serialization_dir} has {len(available)} model checkpoint(s) "
            f"({', '.join(p.name for p in available) or 'none'}), fewer than --last {last}. "
            "Train for more epochs, or keep more checkpoints with "
            "trainer.checkpointer.keep_most_recent_by_count."
        )
    chosen = available[-last:]
    averaged = average_state_dicts([torch.load(path, map_location="cpu") for path in chosen])
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        weights = Path(scratch) / "weights.th"
        torch.save(averaged, weights)
        # An absolute weights path: archive_model stores it as the archive's weights.th.
        archive_model(
            serialization_dir,
            weights=str(weights.resolve()),
            archive_path=str(output),
            include_in_archive=_included_in_archive(serialization_dir),
        )
    logger.info("Averaged %s into %s", ", ".join(p.name for p in chosen), output)
    return chosen


def _included_in_archive(serialization_dir: Union[str, Path]) -> Optional[List[str]]:
    """The run's own ``include_in_archive`` (e.g. the encoder's files, see
    `hsl_bioner.encoder_files`), so that the averaged archive holds what the run's does."""
    config = json.loads((Path(serialization_dir) / "config.json").read_text(encoding="utf-8"))
    return config.get("include_in_archive")
