"""`backend: onnx`: the `bioner` predictor and `allennlp bioner-tag` tagging with the exported
ONNX graphs (`hsl_bioner_runtime.Tagger`) instead of the torch model.

The graphs come from an exported folder given by the user, or from an export made on first use
into a cache, `$HSL_BIONER_CACHE/exports/<key>-<fp32|int8>` (default `~/.cache/hsl_bioner`):

- `allennlp bioner-tag ARCHIVE --backend onnx` keys it by the SHA-256 of the archive file, so a
  second run loads the folder without loading the torch model at all;
- the predictor, which AllenNLP builds from the loaded model without telling it the archive's path,
  keys it by the SHA-256 of the model itself (weights, vocabulary, tokenizer, folding, tasks).

An entry is written in a temporary sibling folder and renamed into place when complete, so a
crash or a concurrent run never leaves a half-written entry; a folder that no longer loads is
exported again.
"""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader

from hsl_bioner.export import ExportError, export_archive
from hsl_bioner.export.folder import Int8Settings, piece_encoder, write_folder
from hsl_bioner.export.quantize import DEFAULT_FP32_LAYERS
from hsl_bioner.models.hierarchical_shared_tagger import HierarchicalSharedTagger
from hsl_bioner_runtime.folder import ExportFolderError, load_folder, sha256_of
from hsl_bioner_runtime.pieces import PieceEncoder
from hsl_bioner_runtime.tagger import Tagger

CACHE_SETTING = "HSL_BIONER_CACHE"
DEFAULT_CACHE = Path("~/.cache/hsl_bioner")


def export_cache() -> Path:
    """The folder of cached exports: ``$HSL_BIONER_CACHE/exports``."""
    return Path(os.environ.get(CACHE_SETTING) or DEFAULT_CACHE).expanduser() / "exports"


def cached_archive_export(archive_file: str, int8: bool = False) -> Path:
    """The exported folder of the archive `archive_file` (every task), exported on first use."""
    if not Path(archive_file).is_file():
        raise ExportError(f"{archive_file}: no such file (a model.tar.gz from `allennlp train`).")
    key = f"{sha256_of(archive_file)}-{_precision(int8)}"
    return _cached(key, lambda folder: export_archive(archive_file, str(folder), int8=int8))


def cached_model_export(
    model: HierarchicalSharedTagger, reader: DatasetReader, int8: bool = False
) -> Path:
    """The exported folder of the loaded `model` (every task), whose `reader` indexes its text,
    exported on first use."""
    pieces = piece_encoder(reader, "the loaded model")
    key = f"model-{model_digest(model, pieces)}-{_precision(int8)}"

    # The default int8 of `allennlp bioner-export --int8`: dynamic, which needs no calibration
    # sentences (the predictor has no archive config to find the training data in).
    settings = Int8Settings("dynamic", tuple(DEFAULT_FP32_LAYERS), None) if int8 else None

    def export(folder: Path) -> None:
        folder.mkdir()
        write_folder(model, pieces, model.tasks, folder, None, int8=settings)

    return _cached(key, export)


def model_digest(model: HierarchicalSharedTagger, pieces: PieceEncoder) -> str:
    """SHA-256 of what the exported folder is made of: the weights, the tag vocabularies, the
    tasks and their groups, the label encoding, the tokenizer and the folding length."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{name}:{array.dtype}:{array.shape}".encode())
        digest.update(array.tobytes())
    described = {
        "vocabulary": {
            namespace: model.vocab.get_index_to_token_vocabulary(namespace)
            for namespace in sorted(model.vocab.get_namespaces())
        },
        "group_of_task": model.group_of_task,
        "label_encoding": model.label_encoding,
        "max_length": pieces.max_length,
        "special_tokens": pieces.special_tokens.to_dict(),
        "tokenizer": pieces.tokenizer.to_str(),
    }
    digest.update(json.dumps(described, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _precision(int8: bool) -> str:
    return "int8" if int8 else "fp32"


def _cached(key: str, export: Callable[[Path], object]) -> Path:
    """The cache entry `key`, made with ``export(folder)`` (which creates `folder`) when absent or
    no longer loadable."""
    target = export_cache() / key
    if _loads(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=target.parent))
    try:
        export(staging / "folder")
        if target.exists():  # an entry that no longer loads
            shutil.rmtree(target, ignore_errors=True)
        try:
            (staging / "folder").rename(target)
        except OSError:
            if not _loads(target):  # not a concurrent run that finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _loads(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    try:
        load_folder(folder)
    except ExportFolderError:
        return False
    return True


def load_tagger(
    folder: Path, int8: bool, tasks: Optional[Sequence[str]], batch_size: int, merge: str
) -> Tagger:
    """The runtime's tagger of the exported `folder` for `tasks`, with as many threads as torch
    uses; a `ConfigurationError` names what is wrong (a bad folder names its file). With backend
    onnx, `int8` means an int8 export: the folder's precision must match."""
    try:
        tagger = Tagger.load(
            folder, tasks, threads=torch.get_num_threads(), batch_size=batch_size, merge=merge
        )
    except ValueError as error:  # ExportFolderError (names the file), unknown tasks
        raise ConfigurationError(f"backend onnx: {error}") from None
    precision = tagger.model.precision
    if precision != _precision(int8):
        raise ConfigurationError(
            f"backend onnx: {folder} is a {precision} export, but int8 is "
            f"{'on' if int8 else 'off'}: give the {_precision(int8)} export "
            f"(`allennlp bioner-export{' --int8' if int8 else ''}`)."
        )
    return tagger
