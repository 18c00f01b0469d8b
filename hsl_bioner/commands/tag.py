"""`allennlp bioner-tag`: tag a file of documents, one output document per input document.

`allennlp predict --predictor bioner` works too for files of lines; this command adds what
tagging large inputs and document files needs: PubTator and BioC input (`--input-format`,
detected from the file by default), BioC output (one collection per file), a progress bar, one
output record for EVERY input document (`allennlp predict` skips blank lines, so its outputs can
drift out of line with the inputs), errors that name the input line, and the output format, task
selection and int8 switch as plain flags.

Reading, batching and writing are the runtime core's (`hsl_bioner_runtime.stream.tag_stream`, the
loop of the runtime's own `bioner-tag` too): files of lines are read as bytes and split at ``\\n``
only (``\\r\\n`` is one line end; a lone ``\\r`` is text, whitespace to the tokenizer), each line
must be UTF-8, and a document that cannot be read or tagged stops the run with an
`InputLineError` naming where it is, after the output of every document before it has been
written and flushed.
"""

import argparse
import logging
import sys
from contextlib import ExitStack
from typing import IO, BinaryIO, Callable

from allennlp.commands.subcommand import Subcommand
from allennlp.predictors import Predictor
from tqdm import tqdm

from hsl_bioner_runtime.entities import MERGE_RULES
from hsl_bioner_runtime.formats.documents import DOCUMENT_FORMATS, INPUT_FORMATS
from hsl_bioner_runtime.formats.lines import count_lines
from hsl_bioner_runtime.formats.writers import OUTPUT_FORMATS, document_writer
from hsl_bioner_runtime.stream import InputLineError, detect_format, tag_stream

logger = logging.getLogger(__name__)


@Subcommand.register("bioner-tag")
class TagDocuments(Subcommand):
    """Registered as the `allennlp` subcommand "bioner-tag"."""

    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "Tag documents (one per line: raw text, or JSON with 'text' and optional 'id'; or a "
            "PubTator or BioC file) with a hsl-bioner model; writes one output document per "
            "input document with each entity's character offsets, type, task and score."
        )
        subparser = parser.add_parser(self.name, description=description, help=description)
        subparser.add_argument("archive_file", help="model.tar.gz from `allennlp train`")
        subparser.add_argument("input_file", help="the UTF-8 documents; '-' reads stdin")
        add_input_arguments(subparser)
        subparser.add_argument(
            "--int8",
            action="store_true",
            help="quantise the encoder to int8 (CPU): faster, slightly less exact",
        )
        subparser.add_argument(
            "--cuda-device",
            type=whole_number(-1, "a GPU index or -1 (CPU)"),
            default=-1,
            help="GPU index, or -1 for the CPU",
        )
        subparser.set_defaults(func=_tag_from_args)
        return subparser


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


def _tag_from_args(args: argparse.Namespace) -> None:
    with ExitStack() as stack:
        # The input is opened before the model loads, so that a wrong path fails at once.
        source: BinaryIO = (
            sys.stdin.buffer
            if args.input_file == "-"
            else stack.enter_context(open(args.input_file, "rb"))
        )
        predictor = Predictor.from_path(
            args.archive_file,
            "bioner",
            cuda_device=args.cuda_device,
            tasks=args.tasks,
            merge=args.merge,
            int8=args.int8,
        )
        run_tagging(predictor.predict_batch_json, source, args, stack)


def run_tagging(tag_batch, source: BinaryIO, args: argparse.Namespace, stack: ExitStack) -> None:
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
            sys.exit(f"bioner-tag: {error}")
        raise
