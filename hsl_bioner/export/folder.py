"""A `bioner_tagger` archive -> the exported folder of docs/export_format.md.

`export_archive` is the one entry point (of `allennlp bioner-export` and of the predictor's ONNX
backend): it loads the archive, traces the shared graph and one graph per selected group
(`hsl_bioner.export.graphs`), optionally quantises them to int8 (`hsl_bioner.export.quantize`),
and writes tagger.json, tokenizer.json, crf.npz and, last, manifest.json (the runtime's
`write_manifest`, so a folder without a manifest is an unfinished one).
"""

import importlib.metadata
import json
import logging
import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import allennlp
import onnx
import onnxruntime
import torch
import transformers
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader
from allennlp.data.dataset_readers import MultiTaskDatasetReader
from allennlp.models.archival import Archive, load_archive

from hsl_bioner.data.iob_reader import read_iob_sentences
from hsl_bioner.data.piece_indexer import PieceIndexer
from hsl_bioner.export.graphs import GroupGraph, SharedGraph
from hsl_bioner.export.onnx_export import GROUP_INPUTS, OPSET, PIECE_INPUTS, export_graph
from hsl_bioner.export.quantize import (
    DEFAULT_FP32_LAYERS,
    DEFAULT_METHOD,
    METHODS,
    group_feeds,
    piece_feed,
    quantize_graph,
)
from hsl_bioner.models.hierarchical_shared_tagger import HierarchicalSharedTagger, entity_types
from hsl_bioner.predictors.bioner import check_int8_fp32_layers
from hsl_bioner_runtime import folder as layout
from hsl_bioner_runtime.pieces import PieceEncoder
from hsl_bioner_runtime.tagging import select_tasks
from hsl_bioner_runtime.text import TextTokenizer

logger = logging.getLogger(__name__)

# Words of the sentences the graphs are traced on (any words do: the axes are dynamic).
_TRACE_SENTENCES = [["Mutations", "in", "APC", "cause", "cancer", "."], ["FAP", "."]]


class ExportError(ConfigurationError):
    """An archive or an output folder that cannot be exported to: the message says why."""


def export_archive(
    archive_file: str,
    output_dir: str,
    *,
    tasks: Optional[Sequence[str]] = None,
    int8: bool = False,
    int8_method: str = DEFAULT_METHOD,
    fp32_layers: Sequence[int] = DEFAULT_FP32_LAYERS,
    calibration_file: Optional[str] = None,
    force: bool = False,
) -> Path:
    """Exports the `bioner_tagger` archive `archive_file` into the folder `output_dir` and
    returns its path.

    `tasks` selects the heads to export (default: all; a group is exported when one of its tasks
    is). `output_dir` must not exist or be empty, unless `force`, which replaces it. The folder
    is written in a temporary sibling first and renamed into place when complete.

    `int8` quantises the encoder layers but `fp32_layers` with `int8_method` ("dynamic" or
    "static"; see `hsl_bioner.export.quantize`); static quantisation calibrates on the
    archive's training sentences, or on `calibration_file` (IOB, or one sentence of
    whitespace-separated words per line) when given or when those are not found."""
    target = Path(output_dir)
    if target.exists() and not target.is_dir():
        raise ExportError(f"{target} exists and is not a folder.")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ExportError(
            f"{target} exists and is not empty: give another folder, or --force to replace it."
        )
    archive = _load(archive_file)
    model = archive.model
    try:
        selected = select_tasks(tasks, list(model.tasks))
    except ValueError as error:
        raise ExportError(str(error)) from None
    pieces = piece_encoder(archive.dataset_reader, archive_file)
    int8_settings = None
    if int8:
        check_int8_fp32_layers(fp32_layers, model.embedder.split.num_layers)
        if int8_method not in METHODS:
            raise ExportError(f"int8 method must be one of {', '.join(METHODS)}: {int8_method!r}")
        calibration = None
        if int8_method == "static":
            calibration = calibration_sentences(archive, selected, calibration_file)
        int8_settings = Int8Settings(int8_method, tuple(fp32_layers), calibration)
    elif calibration_file is not None or int8_method != DEFAULT_METHOD:
        raise ExportError("--int8-method and --calibration-file only apply with --int8.")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        write_folder(model, pieces, selected, staging, archive_file, int8=int8_settings)
        # mkdtemp makes the folder private (0700); the export gets the mode of a new folder.
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("Exported %s (tasks %s) to %s", archive_file, ", ".join(selected), target)
    return target


def write_folder(
    model: HierarchicalSharedTagger,
    pieces: PieceEncoder,
    tasks: Sequence[str],
    folder: Path,
    source_archive: Optional[str],
    *,
    int8: Optional["Int8Settings"] = None,
) -> None:
    """Writes the exported folder of `model`'s heads for `tasks` into the existing `folder`,
    with int8 graphs when `int8` is given."""
    model.eval()
    split = model.embedder.split
    if model.embedder.max_length != pieces.max_length:
        raise ExportError(
            f"The embedder's max_length ({model.embedder.max_length}) and the indexer's "
            f"({pieces.max_length}) differ: the archive's config is inconsistent."
        )
    special = pieces.special_tokens
    uses_type_ids = any((*special.start_types, *special.end_types, special.piece_type))
    groups = list(dict.fromkeys(model.group_of_task[task] for task in tasks))

    trace = pieces.batch(pieces.encode_batch(_TRACE_SENTENCES))
    arrays = (trace.token_ids, trace.mask.astype("int64"), trace.type_ids)
    inputs = dict(zip(PIECE_INPUTS, map(torch.from_numpy, arrays)))
    shared = SharedGraph(split, uses_type_ids)
    export_graph(shared, inputs, "hidden", folder / layout.SHARED_GRAPH)
    with torch.no_grad():
        hidden = shared(*inputs.values())
    for group in groups:
        graph = GroupGraph(split, group, model.heads[group].projection, uses_type_ids)
        group_inputs = dict(zip(GROUP_INPUTS, (hidden, *list(inputs.values())[1:])))
        export_graph(graph, group_inputs, "emissions", folder / layout.group_graph_name(group))

    if int8 is not None:
        _quantize(folder, groups, split.num_layers, int8, pieces)
    crfs = {group: model.heads[group].crf.decoding_parameters() for group in groups}
    layout.write_crfs(folder / layout.CRF_FILE, crfs)
    pieces.tokenizer.save(str(folder / layout.TOKENIZER))
    config = tagger_config(
        model,
        pieces,
        tasks,
        uses_type_ids,
        precision="fp32" if int8 is None else "int8",
        int8=None if int8 is None else int8.describe(),
    )
    (folder / layout.TAGGER_CONFIG).write_text(json.dumps(config, indent=2) + "\n", "utf-8")
    layout.write_manifest(folder, source_archive, software_versions())


class Int8Settings(NamedTuple):
    """How `write_folder` quantises: the method, the layers kept in fp32, and for the static
    method the calibration sentences (lists of words)."""

    method: str
    fp32_layers: Tuple[int, ...]
    calibration: Optional[List[List[str]]]

    def describe(self) -> Dict[str, Any]:
        """tagger.json's "int8"."""
        return {"method": self.method, "fp32_layers": list(self.fp32_layers), "per_channel": True}


# Sentences of calibration for static int8, at most; in batches of this many.
CALIBRATION_SENTENCES = 256
_CALIBRATION_BATCH = 32


def calibration_sentences(
    archive: Archive, tasks: Sequence[str], calibration_file: Optional[str]
) -> List[List[str]]:
    """Up to `CALIBRATION_SENTENCES` sentences for static int8: from `calibration_file`, else
    evenly from the training data of `tasks` named by the archive's config."""
    if calibration_file is not None:
        return _read_sentences(calibration_file)[:CALIBRATION_SENTENCES]
    paths = archive.config.as_dict().get("train_data_path")
    if isinstance(paths, str):
        paths = {task: paths for task in tasks}
    found = [paths[task] for task in tasks if isinstance(paths, dict) and task in paths]
    missing = [path for path in found if not Path(path).is_file()]
    if not found or missing:
        raise ExportError(
            "Static int8 calibrates on the training sentences named by the archive's config "
            f"({', '.join(missing) or 'none named'} not found here): give --calibration-file."
        )
    share = -(-CALIBRATION_SENTENCES // len(found))
    sentences: List[List[str]] = []
    for path in found:
        sentences += _read_sentences(path)[:share]
    return sentences[:CALIBRATION_SENTENCES]


def _read_sentences(path: str) -> List[List[str]]:
    """The sentences of an IOB file (word TAB tag lines), or of a text file of one sentence of
    whitespace-separated words per line."""
    if not Path(path).is_file():
        raise ExportError(f"{path}: no such calibration file.")
    with open(path, encoding="utf-8") as stream:
        first = next((line for line in stream if line.strip()), "")
    if "\t" in first:
        try:
            return [list(s.words) for s in read_iob_sentences(path)]
        except ValueError as error:
            raise ExportError(str(error)) from None
    with open(path, encoding="utf-8") as stream:
        return [line.split() for line in stream if line.strip()]


def _quantize(
    folder: Path, groups: Sequence[str], num_layers: int, int8: Int8Settings, pieces: PieceEncoder
) -> None:
    shared_path = folder / layout.SHARED_GRAPH
    feeds = None
    if int8.method == "static":
        sentences = sorted(int8.calibration or [], key=len)
        feeds = [
            piece_feed(pieces.batch(pieces.encode_batch(sentences[i : i + _CALIBRATION_BATCH])))
            for i in range(0, len(sentences), _CALIBRATION_BATCH)
        ]
    paths = {None: shared_path, **{g: folder / layout.group_graph_name(g) for g in groups}}
    fp32 = {name: path.with_suffix(".fp32.onnx") for name, path in paths.items()}
    for name, path in paths.items():
        path.rename(fp32[name])
    for name, path in paths.items():
        calibration = feeds
        if feeds is not None and name is not None:
            calibration = group_feeds(fp32[None], feeds)
        quantize_graph(
            fp32[name],
            path,
            num_layers,
            method=int8.method,
            fp32_layers=int8.fp32_layers,
            calibration=calibration,
        )
    for path in fp32.values():
        path.unlink()


def tagger_config(
    model: HierarchicalSharedTagger,
    pieces: PieceEncoder,
    tasks: Sequence[str],
    uses_type_ids: bool,
    precision: str,
    int8: Optional[Dict[str, Any]],
) -> Dict[str, Any]:
    """tagger.json (docs/export_format.md) for `model`'s heads of `tasks`."""
    split = model.embedder.split
    groups = list(dict.fromkeys(model.group_of_task[task] for task in tasks))
    tags = {group: list(model.heads[group].crf.tags) for group in groups}
    return {
        "format_version": layout.FORMAT_VERSION,
        "encoder": {
            "family": split.family.name,
            "name": model.embedder.model_name,
            "num_layers": split.num_layers,
            "shared_layers": split.shared_layers,
            "hidden_size": split.config.hidden_size,
            "max_length": pieces.max_length,
            "uses_type_ids": uses_type_ids,
        },
        "special_tokens": pieces.special_tokens.to_dict(),
        # The bioner predictor's raw-text tokenizer: its defaults.
        "text": TextTokenizer().settings(),
        "label_encoding": model.label_encoding,
        "tasks": {
            task: {
                "group": model.group_of_task[task],
                "types": entity_types(tags[model.group_of_task[task]]),
            }
            for task in tasks
        },
        "groups": {
            group: {"graph": layout.group_graph_name(group), "tags": tags[group]}
            for group in groups
        },
        "precision": precision,
        "int8": int8,
    }


def software_versions() -> Dict[str, Any]:
    """The manifest's "versions": what made the folder, and the ONNX opset."""
    try:
        own = importlib.metadata.version("hsl-bioner")
    except importlib.metadata.PackageNotFoundError:
        own = None
    return {
        "hsl_bioner": own,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "allennlp": allennlp.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "opset": OPSET,
    }


def _load(archive_file: str) -> Archive:
    if not Path(archive_file).is_file():
        raise ExportError(f"{archive_file}: no such file (a model.tar.gz from `allennlp train`).")
    try:
        archive = load_archive(archive_file)
    except (OSError, EOFError, tarfile.TarError) as error:
        raise ExportError(f"{archive_file}: not a readable model archive ({error}).") from None
    if not isinstance(archive.model, HierarchicalSharedTagger):
        raise ExportError(
            f"{archive_file}: holds a {type(archive.model).__name__}, not a bioner_tagger "
            "(HierarchicalSharedTagger): only hsl-bioner taggers can be exported."
        )
    return archive


def piece_encoder(reader: DatasetReader, archive_file: str) -> PieceEncoder:
    """The `PieceEncoder` (tokenizer, folding, piece limits) of a trained model's dataset reader,
    single- or multi-task: the one the export writes and the ONNX backend reuses;
    `archive_file` names the model in the error when the reader has none."""
    readers: List[DatasetReader] = (
        list(reader.readers.values()) if isinstance(reader, MultiTaskDatasetReader) else [reader]
    )
    for one in readers:
        # MultiTaskDatasetReader wraps each task's reader in a shim that holds it as `inner`.
        one = getattr(one, "inner", one)
        for indexer in getattr(one, "_token_indexers", {}).values():
            if isinstance(indexer, PieceIndexer):
                return indexer.pieces
    raise ExportError(
        f"{archive_file}: its dataset reader has no bioner_pieces token indexer, which the "
        "export needs for the encoder's tokenizer and folding."
    )
