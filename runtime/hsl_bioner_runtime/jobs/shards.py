"""The shards of a job: finding the input shards, naming their output shards, reading a shard
(gzip by its suffix) and writing one atomically.

A job's input is a folder (its files, not its subfolders), a glob or one file; each input shard
gives one output shard in the output folder, named after it: its name without ``.gz`` and
without its last suffix, plus the output format's suffix, plus ``.gz`` again when the input was
gzipped (``part-0001.pubtator.gz`` -> ``part-0001.jsonl.gz``). Two inputs that would give the
same output name, or an output that would overwrite an input, stop the job before it starts.

An output shard is written to a temporary file in the output folder, flushed to disk (fsync),
then renamed over the final name (`os.replace`, atomic within a file system): whenever a job is
killed, an output shard is either absent or complete. Gzipped output carries no time stamp, so
that the same documents give the same bytes on every run and every machine.
"""

import glob
import gzip
import io
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Dict, Iterator, List

# The suffix of an output shard in each output format (`formats.writers.OUTPUT_FORMATS`).
OUTPUT_SUFFIXES: Dict[str, str] = {
    "json": ".jsonl",
    "conll": ".conll",
    "pubtator": ".pubtator",
    "bioc-xml": ".xml",
    "bioc-json": ".json",
}
GZIP_SUFFIX = ".gz"
# Temporary files of output shards start with this (and are hidden); a new run removes those an
# earlier, killed run left behind.
TEMPORARY_PREFIX = ".bioner-tmp-"
_GLOB_CHARACTERS = "*?["


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# What `open` would give a new file (mkstemp makes it private): read here once, as os.umask
# can only be read by setting it.
_FILE_MODE = 0o666 & ~_umask()


class ShardError(ValueError):
    """Input shards that cannot make a job (none found, clashing output names); the message
    names them."""


@dataclass(frozen=True)
class Shard:
    """One input shard (`input`: its path as found) and the name of its output shard in the
    output folder (`output`)."""

    input: str
    output: str

    @property
    def gzipped(self) -> bool:
        return self.input.endswith(GZIP_SUFFIX)


def output_name(input_path: str, output_format: str) -> str:
    """The output shard's file name for `input_path` (see the module docstring)."""
    name = Path(input_path).name
    gzipped = name.endswith(GZIP_SUFFIX)
    stem = Path(name[: -len(GZIP_SUFFIX)] if gzipped else name).stem
    return stem + OUTPUT_SUFFIXES[output_format] + (GZIP_SUFFIX if gzipped else "")


def find_shards(pattern: str, output_dir: str, output_format: str) -> List[Shard]:
    """The input shards of `pattern` (a folder: its non-hidden files; a glob; or a file), in
    name order, each with its output name. Raises `ShardError` when there are none, when two
    share an output name, or when an output would replace an input."""
    if os.path.isdir(pattern):
        paths = [str(path) for path in sorted(Path(pattern).iterdir()) if path.is_file()]
        paths = [path for path in paths if not Path(path).name.startswith(".")]
        if not paths:
            raise ShardError(f"{pattern}: the input folder holds no files.")
    elif any(character in pattern for character in _GLOB_CHARACTERS):
        paths = sorted(path for path in glob.glob(pattern) if os.path.isfile(path))
        if not paths:
            raise ShardError(f"{pattern}: no file matches (quote a glob: the shell expands it).")
    elif os.path.isfile(pattern):
        paths = [pattern]
    else:
        raise ShardError(f"{pattern}: no such file or folder.")
    shards = [Shard(path, output_name(path, output_format)) for path in paths]
    inputs = {os.path.realpath(shard.input): shard.input for shard in shards}
    by_output: Dict[str, str] = {}
    for shard in shards:
        if shard.output in by_output:
            raise ShardError(
                f"{by_output[shard.output]} and {shard.input} would both be tagged into "
                f"{shard.output}: rename one, or tag them in separate jobs."
            )
        by_output[shard.output] = shard.input
        target = os.path.realpath(os.path.join(output_dir, shard.output))
        if target in inputs:
            raise ShardError(
                f"{shard.input}: its output shard {target} would replace it (an input); choose "
                "another --output-dir."
            )
    return shards


def open_shard(path: str) -> BinaryIO:
    """A binary stream of the shard's bytes, decompressed when its name ends in ``.gz``."""
    if path.endswith(GZIP_SUFFIX):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


@contextmanager
def atomic_output(path: str, gzipped: bool) -> Iterator[IO[str]]:
    """A UTF-8 text stream that becomes the file `path` when the block ends without an
    exception (temporary file in the same folder, fsync, `os.replace`, fsync of the folder);
    after an exception, nothing is left behind."""
    folder = os.path.dirname(path) or "."
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=TEMPORARY_PREFIX)
    try:
        os.fchmod(descriptor, _FILE_MODE)
        with os.fdopen(descriptor, "wb") as raw:
            # filename="" and mtime=0: no name or time in the gzip header (same bytes every run).
            binary: BinaryIO = (
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)  # type: ignore[assignment]
                if gzipped
                else raw
            )
            text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
            yield text
            text.detach()  # flushes the text into `binary`, which stays open
            if gzipped:
                binary.close()  # writes the gzip trailer; `raw` stays open
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def write_json_atomic(path: str, value: object) -> None:
    """Writes `value` as indented JSON to `path` atomically (as `atomic_output`)."""
    with atomic_output(path, gzipped=False) as stream:
        stream.write(json.dumps(value, indent=2, sort_keys=True) + "\n")


def remove_temporary_files(folder: str) -> int:
    """Removes the temporary files that killed runs left in `folder`; returns how many."""
    removed = 0
    for path in Path(folder).glob(TEMPORARY_PREFIX + "*"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def _sync_folder(folder: str) -> None:
    # The rename itself reaches the disk only when the folder's entry does.
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
