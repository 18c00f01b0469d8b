"""The encoder's configuration and tokenizer inside the model archive, so that it loads anywhere.

A trained model names its encoder as it was trained (``model_name``: a Hugging Face name or a local
folder, maybe relative to where training ran). Its weights are in the archive's ``weights.th``,
but the indexer needs the encoder's tokenizer and the embedder its configuration. So the
`bioner_encoder_files` trainer callback writes both into ``<serialization dir>/encoder/`` when
training ends, the config's ``include_in_archive: ["encoder"]`` puts that folder into
``model.tar.gz``, and at load time (AllenNLP hands the extraction folder to every constructor as
``serialization_dir``) the indexer and the embedder read them from there: no original folder, no
network, no pre-trained weights read. An archive without the folder (trained with another
config) falls back to ``model_name``.

The folder is what ``save_pretrained`` writes: ``config.json`` and the tokenizer files
(``tokenizer.json``, the `tokenizers` form that the runtime reads, plus the family's own files
such as ``spiece.model`` or ``vocab.txt``, ``tokenizer_config.json``, ``special_tokens_map.json``).
"""

import json
import os
import shutil
import tempfile
from typing import Any, Dict, Optional, Tuple

from allennlp.common.checks import ConfigurationError
from transformers import AutoConfig, AutoTokenizer

#: The archive member (and serialization-dir folder) holding the encoder's files.
ENCODER_FOLDER = "encoder"


def encoder_source(model_name: str, serialization_dir: Optional[str]) -> Tuple[str, bool]:
    """Where to load the encoder's configuration and tokenizer from: the archive's copy if
    `serialization_dir` (an extracted archive) has one, else `model_name`; and whether it is the
    archive's copy (whose weights are in the archive, not in the folder)."""
    if serialization_dir:
        folder = os.path.join(serialization_dir, ENCODER_FOLDER)
        if os.path.isfile(os.path.join(folder, "config.json")):
            return folder, True
    return model_name, False


def save_encoder_files(
    model_name: str, serialization_dir: str, tokenizer_kwargs: Optional[Dict[str, Any]] = None
) -> str:
    """Writes the configuration and tokenizer of `model_name` into
    ``<serialization_dir>/encoder`` (replacing it atomically) and returns that folder."""
    target = os.path.join(serialization_dir, ENCODER_FOLDER)
    scratch = tempfile.mkdtemp(prefix=".encoder-", dir=serialization_dir)
    try:
        AutoConfig.from_pretrained(model_name).save_pretrained(scratch)
        tokenizer = AutoTokenizer.from_pretrained(
            model_name, **{"use_fast": True, **(tokenizer_kwargs or {})}
        )
        if not tokenizer.is_fast:
            raise ConfigurationError(
                f"The tokenizer of {model_name} has no fast (Rust) version: hsl_bioner needs one."
            )
        tokenizer.save_pretrained(scratch)
        if os.path.isdir(target):
            shutil.rmtree(target)
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def check_archived(serialization_dir: str) -> None:
    """Raises a `ConfigurationError` if the run's config does not put the encoder folder into its
    archive (``include_in_archive``)."""
    with open(os.path.join(serialization_dir, "config.json"), encoding="utf-8") as config:
        included = json.load(config).get("include_in_archive") or []
    if ENCODER_FOLDER not in included:
        raise ConfigurationError(
            f"The bioner_encoder_files callback writes the encoder's files into "
            f"'{ENCODER_FOLDER}/', but the config's include_in_archive ({included}) does not "
            f"archive them: add \"include_in_archive\": [\"{ENCODER_FOLDER}\"]."
        )
