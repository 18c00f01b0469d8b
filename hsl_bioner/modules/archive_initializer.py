"""Initialise parameters from a trained model archive: how MTL-LS starts from MTL-XC."""

import json
import tarfile
from typing import Dict, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.nn.initializers import Initializer, PretrainedModelInitializer


@Initializer.register("bioner_from_archive")
class ArchiveInitializer(PretrainedModelInitializer):
    """Copies parameters by name from a `model.tar.gz` written by `allennlp train`.

    AllenNLP's "pretrained" initializer does the copying; this one adds what MTL-LS needs: a check
    that the archive was trained with the same encoder, and errors that say what to change instead
    of a bare `KeyError` when a parameter is missing.

    Use it with a regex that selects the shared part, e.g. for MTL-LS from an MTL-XC archive:
    ``[["embedder\\.transformer_model\\.(base|lower_layers)\\..*", {"type": "bioner_from_archive",
    "archive_file": "runs/mtl_xc/model.tar.gz", "encoder": "xlnet-large-cased"}]]``. Parameters not
    matched keep their initialisation (the upper layers their pre-trained weights, the CRFs random).

    Registered as an `Initializer` with name "bioner_from_archive".

    # Parameters

    archive_file : `str`
        Path to the trained model archive (or a serialization directory's `weights.th`).
    encoder : `str`, optional (default = `None`)
        If given, the archive's encoder (`model.embedder.model_name` in its config) must equal this.
    parameter_name_overrides : `Dict[str, str]`, optional (default = `None`)
        Maps a parameter name of this model to the name it has in the archive.
    """

    def __init__(
        self,
        archive_file: str,
        encoder: Optional[str] = None,
        parameter_name_overrides: Optional[Dict[str, str]] = None,
    ) -> None:
        try:
            super().__init__(archive_file, parameter_name_overrides)
        except (OSError, tarfile.TarError, RuntimeError) as error:
            raise ConfigurationError(
                f"Cannot read model archive {archive_file}: {error}"
            ) from error
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
        source_name = self.parameter_name_overrides.get(parameter_name, parameter_name)
        if source_name not in self.weights:
            raise ConfigurationError(
                f"{self.archive_file} has no parameter '{source_name}'. "
                "Was it trained with the same "
                "encoder and with at least as many shared layers as this model shares?"
            )
        super().__call__(tensor, parameter_name, **kwargs)


def _archive_encoder(archive_file: str) -> Optional[str]:
    with tarfile.open(archive_file) as archive:
        member = archive.extractfile("config.json")
        if member is None:
            return None
        config = json.load(member)
    return config.get("model", {}).get("embedder", {}).get("model_name")
