"""Initialise parameters from a trained model archive: how MTL-LS starts from MTL-XC."""

import json
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Dict, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.nn.initializers import Initializer, PretrainedModelInitializer

from hsl_bioner.modules.split_transformer import is_shared_parameter

PARTS = ("all", "shared")


@Initializer.register("bioner_from_archive")
class ArchiveInitializer(PretrainedModelInitializer):
    """Copies parameters by name from a `model.tar.gz` written by `allennlp train`.

    AllenNLP's "pretrained" initializer does the copying; this one adds what MTL-LS needs: a check
    that the archive was trained with the same encoder, and errors that say what to change instead
    of a bare `KeyError` when a parameter is missing.

    For MTL-LS from an MTL-XC archive, copy the shared part: ``[[".*", {"type":
    "bioner_from_archive", "archive_file": "runs/mtl_xc/model.tar.gz", "encoder":
    "xlnet-large-cased", "part": "shared"}]]``. Parameters not copied keep their initialisation
    (the upper layers their pre-trained weights, the CRFs random).

    Registered as an `Initializer` with name "bioner_from_archive".

    # Parameters

    archive_file : `str`
        Path to the trained model archive (or a serialization directory's `weights.th` or
        `best.th`). A missing, empty or unreadable file, a tar archive without weights and a file
        that is neither an archive nor a weights file are `ConfigurationError`s naming the file
        and what it should be.
    encoder : `str`, optional (default = `None`)
        If given, the archive's encoder (`model.embedder.model_name` in its config) must equal this.
    parameter_name_overrides : `Dict[str, str]`, optional (default = `None`)
        Maps a parameter name of this model to the name it has in the archive.
    part : `str`, optional (default = `"all"`)
        Which of the parameters the regex selects are copied: "all", or "shared": only the part of
        the split encoder that every task shares, the embeddings and the shared lower layers (see
        `hsl_bioner.modules.split_transformer.is_shared_parameter`); the others are left alone.
    """

    def __init__(
        self,
        archive_file: str,
        encoder: Optional[str] = None,
        parameter_name_overrides: Optional[Dict[str, str]] = None,
        part: str = "all",
    ) -> None:
        if part not in PARTS:
            raise ConfigurationError(f"part must be one of {', '.join(PARTS)}, got {part!r}.")
        self.part = part
        _check_file(archive_file)
        try:
            super().__init__(archive_file, parameter_name_overrides)
        except Exception as error:  # whatever tarfile, gzip or torch.load make of a wrong file
            raise ConfigurationError(_unreadable(archive_file, error)) from None
        if not isinstance(self.weights, Mapping) or not all(
            isinstance(value, torch.Tensor) for value in self.weights.values()
        ):
            raise ConfigurationError(
                f"Cannot read model archive {archive_file}: it holds a "
                f"{type(self.weights).__name__}, not a model's weights. {_EXPECTED}"
            )
        self.archive_file = archive_file
        if encoder is not None and tarfile.is_tarfile(archive_file):
            trained_with = _archive_encoder(archive_file)
            if trained_with is not None and trained_with != encoder:
                raise ConfigurationError(
                    f"{archive_file} was trained with encoder '{trained_with}', "
                    "but this model uses "
                    f"'{encoder}': the shared layers cannot be copied. Train the MTL-XC model with "
                    "the same encoder, or point archive_file at one that was."
                )

    def __call__(self, tensor: torch.Tensor, parameter_name: str, **kwargs) -> None:  # type: ignore
        if self.part == "shared" and not is_shared_parameter(parameter_name):
            return
        source_name = self.parameter_name_overrides.get(parameter_name, parameter_name)
        if source_name not in self.weights:
            raise ConfigurationError(
                f"{self.archive_file} has no parameter '{source_name}'. "
                "Was it trained with the same "
                "encoder and with at least as many shared layers as this model shares?"
            )
        super().__call__(tensor, parameter_name, **kwargs)


_EXPECTED = (
    "Give the model.tar.gz that `allennlp train` wrote (e.g. runs/mtl_xc/model.tar.gz), or the "
    "best.th / weights.th of its serialization directory."
)


def _check_file(archive_file: str) -> None:
    """Raises `ConfigurationError` for a missing file, a directory or an empty file."""
    path = Path(archive_file)
    problem = None
    if not path.exists():
        problem = "the file does not exist"
    elif path.is_dir():
        problem = f"it is a directory (its model archive would be {path / 'model.tar.gz'})"
    elif path.stat().st_size == 0:
        problem = "the file is empty"
    if problem is not None:
        raise ConfigurationError(
            f"Cannot read model archive {archive_file}: {problem}. {_EXPECTED}"
        )


def _unreadable(archive_file: str, error: Exception) -> str:
    """What is wrong with a file that `PretrainedModelInitializer` could not load."""
    detail = f"{type(error).__name__}: {error}"
    if tarfile.is_tarfile(archive_file):
        damaged = (
            f"Cannot read model archive {archive_file}: a damaged or truncated tar archive "
            f"({{}}). {_EXPECTED}"
        )
        try:
            with tarfile.open(archive_file) as archive:
                names = archive.getnames()
        except (tarfile.TarError, OSError, EOFError) as reading:
            return damaged.format(f"{type(reading).__name__}: {reading}")
        if not {"weights.th", "best.th"} & {name.lstrip("./") for name in names}:
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "") or "nothing"
            return (
                f"Cannot read model archive {archive_file}: a tar archive without model weights "
                f"(weights.th), so not one written by `allennlp train` (it holds {shown}). "
                + _EXPECTED
            )
        return damaged.format(detail)
    with open(archive_file, "rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    what = "a gzip file but not a tar archive" if compressed else "not a tar archive"
    return (
        f"Cannot read model archive {archive_file}: {what}, and not a torch weights file "
        f"({detail}). {_EXPECTED}"
    )


def _archive_encoder(archive_file: str) -> Optional[str]:
    with tarfile.open(archive_file) as archive:
        member = archive.extractfile("config.json")
        if member is None:
            return None
        config = json.load(member)
    return config.get("model", {}).get("embedder", {}).get("model_name")
