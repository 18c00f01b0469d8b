"""What both `bioner-tag` commands share: their input and output flags, and the run.

`allennlp bioner-tag ARCHIVE INPUT` (the AllenNLP plugin, hsl_bioner/commands/tag.py) and the
runtime's `bioner-tag FOLDER INPUT` (`hsl_bioner_runtime.cli`) differ only in what loads the
model; the flags of `add_input_arguments` and the loop of `run_tagging` are these, once.

Files of lines are read as bytes and split at ``\\n`` only (``\\r\\n`` is one line end; a lone
``\\r`` is text, whitespace to the tokenizer), each line must be UTF-8, and a document that cannot
be read or tagged stops the run with an error naming where it is (`InputLineError`), after the
output of every document before it has been written and flushed
(`hsl_bioner_runtime.stream.tag_stream`).
"""

import argparse
import sys
from contextlib import ExitStack
from typing import IO, BinaryIO, Callable

from tqdm import tqdm

from hsl_bioner_runtime.entities import MERGE_RULES
from hsl_bioner_runtime.formats.documents import DOCUMENT_FORMATS, INPUT_FORMATS
from hsl_bioner_runtime.formats.lines import count_lines
from hsl_bioner_runtime.formats.writers import OUTPUT_FORMATS, document_writer
from hsl_bioner_runtime.stream import InputLineError, TagBatch, detect_format, tag_stream

PROGRAM = "bioner-tag"


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags `allennlp bioner-tag` shares with the runtime's `bioner-tag`."""
    parser.add_argument(
        "--input-format",
        choices=("auto",) + INPUT_FORMATS,
        default="auto",
        help="text (a document per line), jsonl (a JSON object per line; other lines are "
        "text), pubtator, bioc-xml or bioc-json (default: detected from the file)",
    )
    parser.add_argument(
        "--keep-annotations",
        action="store_true",
        help="carry the annotations of PubTator or BioC input into the JSON and BioC output",
    )
    parser.add_argument("--output-file", help="where to write, in UTF-8 (default: stdout)")
    parser.add_argument("--format", choices=OUTPUT_FORMATS, default="json")
    parser.add_argument("--tasks", nargs="+", help="task heads to run (default: all)")
    parser.add_argument(
        "--merge",
        choices=MERGE_RULES,
        default="type",
        help="how entities of several heads combine (default: type)",
    )
    parser.add_argument(
        "--batch-size",
        type=whole_number(1, "at least 1"),
        default=16,
        help="documents per batch",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def whole_number(minimum: int, meaning: str) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`; the usage error names the flag."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be {meaning}, got {number}")
        return number

    return parse


def open_input(args: argparse.Namespace, stack: ExitStack) -> BinaryIO:
    """`args.input_file` opened for reading bytes (``-``: stdin); open it before the model loads,
    so that a wrong path fails at once (with its message, no traceback)."""
    if args.input_file == "-":
        return sys.stdin.buffer
    try:
        return stack.enter_context(open(args.input_file, "rb"))
    except OSError as error:
        sys.exit(f"{PROGRAM}: cannot read {args.input_file}: {error.strerror or error}")


def run_tagging(
    tag_batch: TagBatch, source: BinaryIO, args: argparse.Namespace, stack: ExitStack
) -> None:
    """Tags `source` as `args` (`add_input_arguments`) say, with a progress bar; a document that
    cannot be read ends the process with its message (no traceback: it says where and what)."""
    name = "<stdin>" if args.input_file == "-" else args.input_file
    input_format = args.input_format
    if input_format == "auto":
        input_format = detect_format(source)
    total = None
    if input_format not in DOCUMENT_FORMATS and source.seekable():  # not a pipe
        total = count_lines(source)
        source.seek(0)
    sink: IO[str] = (
        stack.enter_context(open(args.output_file, "w", encoding="utf-8"))
        if args.output_file
        else sys.stdout
    )
    progress = stack.enter_context(
        tqdm(total=total, unit="doc", disable=args.no_progress, file=sys.stderr)
    )
    try:
        tag_stream(
            tag_batch,
            source,
            sink,
            args.batch_size,
            name,
            progress,
            input_format=input_format,
            writer=document_writer(args.format),
            keep_annotations=args.keep_annotations,
        )
    except InputLineError as error:
        if isinstance(error.__cause__, ValueError):
            # Bad data: the message says where and what; a traceback would add nothing.
            progress.close()
            sys.exit(f"{PROGRAM}: {error}")
        raise
