"""The exported folder (docs/export_format.md, format 1): its file names, its manifest, its reader.

`allennlp bioner-export` writes the folder (with `write_manifest` and `write_crfs` from here, so
that writer and reader share one spelling of every name); `load_folder` reads it back into an
`ExportedModel`, checking the format version, that every file the model needs exists, and, with
``verify``, that each file's SHA-256 is the one in ``manifest.json``. Every problem is an
`ExportFolderError` that names the file.

Needs numpy only.
"""

import datetime
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy

from hsl_bioner_runtime.crf import CrfParameters
from hsl_bioner_runtime.pieces import SpecialTokens
from hsl_bioner_runtime.tag_schemes import CODING_SCHEMES

FORMAT = "hsl-bioner-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TAGGER_CONFIG = "tagger.json"
TOKENIZER = "tokenizer.json"
SHARED_GRAPH = "shared.onnx"
CRF_FILE = "crf.npz"
PRECISIONS = ("fp32", "int8")
# The arrays of each group in crf.npz, as "<group>.<name>".
CRF_ARRAYS = ("transitions", "start", "end", "allowed")

PathLike = Union[str, Path]


class ExportFolderError(ValueError):
    """An exported folder that cannot be used: a missing or altered file, an unknown format
    version, an inconsistent tagger.json. The message names the file."""


def group_graph_name(group: str) -> str:
    """The file name of group `group`'s graph: ``group.<g>.onnx``."""
    return f"group.{group}.onnx"


def sha256_of(path: PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_crfs(path: PathLike, crfs: Mapping[str, CrfParameters]) -> None:
    """Writes each group's CRF arrays into one ``.npz`` file (the tags go in tagger.json)."""
    arrays = {}
    for group, crf in crfs.items():
        for name in CRF_ARRAYS:
            arrays[f"{group}.{name}"] = numpy.asarray(getattr(crf, name))
    with open(path, "wb") as stream:
        numpy.savez(stream, **arrays)


def write_manifest(
    folder: PathLike, source_archive: Optional[PathLike], versions: Mapping[str, Any]
) -> Path:
    """Writes ``manifest.json`` into `folder`: the format, the time, the source archive (as given,
    with its SHA-256 when it is a file), `versions` (of the software that made the folder, and
    the ONNX opset) and the SHA-256 of every other file of the folder. Returns its path."""
    folder = Path(folder)
    files = {
        path.name: sha256_of(path)
        for path in sorted(folder.iterdir())
        if path.is_file() and path.name != MANIFEST
    }
    source = None
    if source_archive is not None:
        archive = Path(source_archive)
        source = {
            "path": str(source_archive),
            "sha256": sha256_of(archive) if archive.is_file() else None,
        }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source_archive": source,
        "versions": dict(versions),
        "files": files,
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class ExportedModel:
    """What an exported folder holds, as `load_folder` read and checked it.

    - `path`: the folder; `config`: tagger.json; `manifest`: manifest.json (both as parsed);
    - `tokenizer`, `shared_graph`: paths of tokenizer.json and shared.onnx; `group_graphs`:
      group -> path of its graph, in tagger.json's order;
    - `crfs`: group -> its CRF (tags in the order of the group graph's emissions);
    - `group_of_task`: task -> group; `types_of_task`: task -> its entity types;
    - `special_tokens`, `text_settings` (`TextTokenizer(**text_settings)`), `max_length` (the
      encoder's segment length; `None`: no folding), `label_encoding` ("BIO" or "BIOUL"),
      `precision` ("fp32" or "int8").
    """

    path: Path
    config: Dict[str, Any]
    manifest: Dict[str, Any]
    tokenizer: Path
    shared_graph: Path
    group_graphs: Dict[str, Path]
    crfs: Dict[str, CrfParameters]
    group_of_task: Dict[str, str]
    types_of_task: Dict[str, Tuple[str, ...]]
    special_tokens: SpecialTokens
    text_settings: Dict[str, Any]
    max_length: Optional[int]
    label_encoding: str
    precision: str

    @property
    def tasks(self) -> Tuple[str, ...]:
        return tuple(self.group_of_task)

    @property
    def groups(self) -> Tuple[str, ...]:
        return tuple(self.group_graphs)

    @property
    def encoder(self) -> Dict[str, Any]:
        """tagger.json's "encoder": family, name, num_layers, shared_layers, hidden_size,
        max_length, uses_type_ids."""
        return self.config["encoder"]


def load_folder(path: PathLike, verify: bool = True) -> ExportedModel:
    """Reads the exported folder `path`; with `verify`, checks every file the model needs
    against the SHA-256 in manifest.json. Raises `ExportFolderError` naming the file at fault."""
    folder = Path(path)
    if not folder.is_dir():
        raise ExportFolderError(f"{folder}: no such folder (an `allennlp bioner-export` output).")
    manifest = _read_json(folder / MANIFEST)
    _check_format(folder / MANIFEST, manifest)
    config = _read_json(folder / TAGGER_CONFIG)
    _check_format(folder / TAGGER_CONFIG, config)
    where = folder / TAGGER_CONFIG
    try:
        encoder = config["encoder"]
        groups = config["groups"]
        tasks = config["tasks"]
        special_tokens = SpecialTokens.from_dict(config["special_tokens"])
        text_settings = dict(config["text"])
        label_encoding = config["label_encoding"]
        precision = config["precision"]
        max_length = encoder["max_length"]
        group_of_task = {task: entry["group"] for task, entry in tasks.items()}
        types_of_task = {task: tuple(entry["types"]) for task, entry in tasks.items()}
        graph_names = {group: entry["graph"] for group, entry in groups.items()}
        tags_of_group = {group: tuple(entry["tags"]) for group, entry in groups.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ExportFolderError(f"{where}: missing or malformed entry ({error!r}).") from None
    if label_encoding not in CODING_SCHEMES:
        raise ExportFolderError(
            f"{where}: label_encoding {label_encoding!r} is not one of {', '.join(CODING_SCHEMES)}."
        )
    if precision not in PRECISIONS:
        raise ExportFolderError(
            f"{where}: precision {precision!r} is not one of {', '.join(PRECISIONS)}."
        )
    if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
        raise ExportFolderError(f"{where}: encoder max_length {max_length!r} is not a length.")
    if not tasks:
        raise ExportFolderError(f"{where}: no tasks.")
    unknown = sorted(set(group_of_task.values()) - set(groups))
    if unknown:
        raise ExportFolderError(f"{where}: tasks name groups {', '.join(unknown)} it lacks.")

    needed = [TOKENIZER, SHARED_GRAPH, CRF_FILE, *graph_names.values()]
    _check_files(folder, manifest, [TAGGER_CONFIG, *needed], verify)
    crfs = _read_crfs(folder / CRF_FILE, tags_of_group)
    return ExportedModel(
        path=folder,
        config=config,
        manifest=manifest,
        tokenizer=folder / TOKENIZER,
        shared_graph=folder / SHARED_GRAPH,
        group_graphs={group: folder / name for group, name in graph_names.items()},
        crfs=crfs,
        group_of_task=group_of_task,
        types_of_task=types_of_task,
        special_tokens=special_tokens,
        text_settings=text_settings,
        max_length=max_length,
        label_encoding=label_encoding,
        precision=precision,
    )


def _read_json(path: Path) -> Dict[str, Any]:
    if not path.is_file():
        raise ExportFolderError(f"{path}: missing (not an exported folder, or an incomplete one).")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExportFolderError(f"{path}: not valid JSON ({error}).") from None
    if not isinstance(data, dict):
        raise ExportFolderError(f"{path}: not a JSON object.")
    return data


def _check_format(path: Path, data: Dict[str, Any]) -> None:
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise ExportFolderError(
            f"{path}: format_version {version!r}; this runtime reads format {FORMAT_VERSION} "
            "(export the model again with the matching hsl-bioner, or install the runtime that "
            "matches the folder)."
        )
    if path.name == MANIFEST and data.get("format") != FORMAT:
        raise ExportFolderError(f"{path}: format {data.get('format')!r}, not {FORMAT!r}.")


def _check_files(
    folder: Path, manifest: Dict[str, Any], names: Sequence[str], verify: bool
) -> None:
    checksums = manifest.get("files")
    if not isinstance(checksums, dict):
        raise ExportFolderError(f"{folder / MANIFEST}: no 'files' checksums.")
    for name in names:
        path = folder / name
        if not path.is_file():
            raise ExportFolderError(f"{path}: missing (listed in {TAGGER_CONFIG}).")
        if name not in checksums:
            raise ExportFolderError(f"{path}: not listed in {MANIFEST}.")
        if verify and sha256_of(path) != checksums[name]:
            raise ExportFolderError(
                f"{path}: its SHA-256 differs from the one in {MANIFEST}: the file was altered "
                "or damaged after export."
            )


def _read_crfs(
    path: Path, tags_of_group: Mapping[str, Tuple[str, ...]]
) -> Dict[str, CrfParameters]:
    try:
        with numpy.load(path, allow_pickle=False) as arrays:
            stored = {name: arrays[name] for name in arrays.files}
    except (OSError, ValueError) as error:
        raise ExportFolderError(f"{path}: not a readable .npz file ({error}).") from None
    crfs = {}
    for group, tags in tags_of_group.items():
        missing = [f"{group}.{name}" for name in CRF_ARRAYS if f"{group}.{name}" not in stored]
        if missing:
            raise ExportFolderError(f"{path}: no array {', '.join(missing)}.")
        try:
            crfs[group] = CrfParameters(
                tags=tags, **{name: stored[f"{group}.{name}"] for name in CRF_ARRAYS}
            )
        except ValueError as error:
            raise ExportFolderError(f"{path}: group {group!r}: {error}") from None
    return crfs
