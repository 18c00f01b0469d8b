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
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import allennlp
import onnx
import onnxruntime
import torch
import transformers
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader
from allennlp.data.dataset_readers import MultiTaskDatasetReader
from allennlp.models.archival import Archive, load_archive

from hsl_bioner.data.piece_indexer import PieceIndexer
from hsl_bioner.export.graphs import GroupGraph, SharedGraph
from hsl_bioner.export.onnx_export import GROUP_INPUTS, OPSET, PIECE_INPUTS, export_graph
from hsl_bioner.models.hierarchical_shared_tagger import HierarchicalSharedTagger, _entity_types
from hsl_bioner.predictors.bioner import _check_tasks
from hsl_bioner_runtime import folder as layout
from hsl_bioner_runtime.pieces import PieceEncoder
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
    force: bool = False,
) -> Path:
    """Exports the `bioner_tagger` archive `archive_file` into the folder `output_dir` and
    returns its path.

    `tasks` selects the heads to export (default: all; a group is exported when one of its tasks
    is). `output_dir` must not exist or be empty, unless `force`, which replaces it. The folder
    is written in a temporary sibling first and renamed into place when complete."""
    target = Path(output_dir)
    if target.exists() and not target.is_dir():
        raise ExportError(f"{target} exists and is not a folder.")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ExportError(
            f"{target} exists and is not empty: give another folder, or --force to replace it."
        )
    archive = _load(archive_file)
    model = archive.model
    selected = list(model.tasks) if tasks is None else _check_tasks(tasks, list(model.tasks))
    pieces = _piece_encoder(archive.dataset_reader, archive_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        write_folder(model, pieces, selected, staging, archive_file, int8=int8)
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
    int8: bool = False,
) -> None:
    """Writes the exported folder of `model`'s heads for `tasks` into the existing `folder`."""
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

    crfs = {group: model.heads[group].crf.decoding_parameters() for group in groups}
    layout.write_crfs(folder / layout.CRF_FILE, crfs)
    pieces.tokenizer.save(str(folder / layout.TOKENIZER))
    config = tagger_config(model, pieces, tasks, uses_type_ids, precision="fp32", int8=None)
    (folder / layout.TAGGER_CONFIG).write_text(json.dumps(config, indent=2) + "\n", "utf-8")
    layout.write_manifest(folder, source_archive, software_versions())


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
                "types": _entity_types(tags[model.group_of_task[task]]),
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


def _piece_encoder(reader: DatasetReader, archive_file: str) -> PieceEncoder:
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
