"""`allennlp bioner-tag`: tag a file of documents, one output per input line, with progress.

`allennlp predict --predictor bioner` works too; this command adds what tagging large inputs
needs: a progress bar, one output record for EVERY input line (`allennlp predict` skips blank
lines, so its outputs can drift out of line with the inputs), errors that name the input line,
and the output format, task selection and int8 switch as plain flags.

The input is read as bytes and split at ``\\n`` only (``\\r\\n`` is one line end; a lone ``\\r``
is text, whitespace to the tokenizer), not with Python's universal newlines, which would split a
line at a lone ``\\r`` and shift every later line number. Each line must be UTF-8 (a UTF-8
byte-order mark at the start is skipped). A line that cannot be read or tagged stops the run with
an `InputLineError` naming ``file:line``, after the records of every line before it have been
written and flushed.
"""

import argparse
import codecs
import logging
import sys
from contextlib import ExitStack
from typing import IO, BinaryIO, Callable, Iterable, List, Optional

from allennlp.commands.subcommand import Subcommand
from allennlp.common.util import JsonDict
from allennlp.predictors import Predictor
from tqdm import tqdm

from hsl_bioner.predictors.bioner import MERGE_RULES, OUTPUT_FORMATS, BioNerPredictor

logger = logging.getLogger(__name__)

# Byte-order marks of encodings that are not UTF-8, longest first (UTF-32 LE's begins with
# UTF-16 LE's).
_FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "UTF-32 BE"),
    (codecs.BOM_UTF16_LE, "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "UTF-16 BE"),
)


class InputLineError(ValueError):
    """A line of the input that could not be read or tagged. The message starts with
    ``name:line`` and says how many records were written before it (those of every earlier line).
    """

    def __init__(self, name: str, line: int, written: int, reason: str) -> None:
        super().__init__(
            f"{name}:{line}: {reason} ({written} record{'' if written == 1 else 's'}, one per "
            "line before it, written)"
        )
        self.name = name
        self.line = line
        self.written = written


@Subcommand.register("bioner-tag")
class TagDocuments(Subcommand):
    """Registered as the `allennlp` subcommand "bioner-tag"."""

    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "Tag documents (one per line: raw text, or JSON with 'text' and optional 'id') with a "
            "hsl-bioner model; writes one record per input line with each entity's character "
            "offsets, type, task and score."
        )
        subparser = parser.add_parser(self.name, description=description, help=description)
        subparser.add_argument("archive_file", help="model.tar.gz from `allennlp train`")
        subparser.add_argument(
            "input_file", help="UTF-8 documents, one per line; '-' reads stdin"
        )
        subparser.add_argument("--output-file", help="where to write, in UTF-8 (default: stdout)")
        subparser.add_argument("--format", choices=OUTPUT_FORMATS, default="json")
        subparser.add_argument("--tasks", nargs="+", help="task heads to run (default: all)")
        subparser.add_argument(
            "--merge",
            choices=MERGE_RULES,
            default="type",
            help="how entities of several heads combine (default: type)",
        )
        subparser.add_argument(
            "--batch-size",
            type=_whole_number(1, "at least 1"),
            default=16,
            help="documents per batch",
        )
        subparser.add_argument(
            "--int8",
            action="store_true",
            help="quantise the encoder to int8 (CPU): faster, slightly less exact",
        )
        subparser.add_argument(
            "--cuda-device",
            type=_whole_number(-1, "a GPU index or -1 (CPU)"),
            default=-1,
            help="GPU index, or -1 for the CPU",
        )
        subparser.add_argument("--no-progress", action="store_true", help="no progress bar")
        subparser.set_defaults(func=_tag_from_args)
        return subparser


def _whole_number(minimum: int, meaning: str) -> Callable[[str], int]:
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
    name = "<stdin>" if args.input_file == "-" else args.input_file
    with ExitStack() as stack:
        # The input is opened before the model loads, so that a wrong path fails at once.
        if args.input_file == "-":
            source: BinaryIO = sys.stdin.buffer
            total = None
        else:
            source = stack.enter_context(open(args.input_file, "rb"))
            total = None
            if source.seekable():  # not a pipe such as <(zcat docs.gz)
                total = count_lines(source)
                source.seek(0)
        predictor = Predictor.from_path(
            args.archive_file,
            "bioner",
            cuda_device=args.cuda_device,
            tasks=args.tasks,
            output_format=args.format,
            merge=args.merge,
            int8=args.int8,
        )
        sink: IO[str] = (
            stack.enter_context(open(args.output_file, "w", encoding="utf-8"))
            if args.output_file
            else sys.stdout
        )
        progress = stack.enter_context(
            tqdm(total=total, unit="doc", disable=args.no_progress, file=sys.stderr)
        )
        try:
            tag_documents(predictor, source, sink, args.batch_size, name, progress)
        except InputLineError as error:
            if isinstance(error.__cause__, ValueError):
                # Bad data: the message says where and what; a traceback would add nothing.
                progress.close()
                sys.exit(f"bioner-tag: {error}")
            raise


def count_lines(source: BinaryIO) -> int:
    """Lines of a binary file as `tag_documents` counts them: one per ``\\n``, plus a last line
    without one."""
    lines, last = 0, b"\n"
    for chunk in iter(lambda: source.read(1 << 20), b""):
        lines += chunk.count(b"\n")
        last = chunk[-1:]
    return lines + (last != b"\n")


def decode_line(raw: bytes, number: int) -> str:
    """The text of one input line (bytes up to and including its ``\\n``), without its line end
    (``\\n`` or ``\\r\\n``). Raises `ValueError` saying what is wrong with it."""
    if number == 1:
        for bom, encoding in _FOREIGN_BOMS:
            if raw.startswith(bom):
                raise ValueError(
                    f"the input starts with a {encoding} byte-order mark; bioner-tag reads "
                    f"UTF-8: convert it first, e.g. `iconv -f {encoding.split()[0]} -t UTF-8 "
                    "in.txt > in.utf8.txt`"
                )
        if raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
    if raw.endswith(b"\n"):
        raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise ValueError(
            f"NUL byte at byte {nul + 1} of the line ({raw[max(0, nul - 20) : nul + 20]!r}): "
            "binary data, or UTF-16/UTF-32 text without a byte-order mark; bioner-tag reads "
            "UTF-8 text"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        context = raw[max(0, error.start - 20) : error.end + 20]
        raise ValueError(
            f"not UTF-8: {error.reason} at byte {error.start + 1} of the line ({context!r}); "
            "bioner-tag reads UTF-8 text (for Latin-1 input: `iconv -f LATIN1 -t UTF-8`)"
        ) from error


def tag_documents(
    predictor: BioNerPredictor,
    lines: Iterable[bytes],
    sink: IO[str],
    batch_size: int,
    name: str,
    progress: Optional[tqdm] = None,
) -> int:
    """Writes one record per line of `lines` (raw lines of bytes, each ending with ``\\n`` but
    perhaps the last; blank lines give records without entities) to `sink` and returns how many
    were written; `progress` counts the records as they are written.

    A line that cannot be decoded, parsed or tagged raises `InputLineError` naming ``name:line``,
    after the records of all lines before it have been written and `sink` flushed."""
    written = 0
    batch: List[JsonDict] = []

    def write(outputs: List[JsonDict]) -> None:
        nonlocal written
        for output in outputs:
            sink.write(predictor.dump_line(output))
        written += len(outputs)
        if progress is not None:
            progress.update(len(outputs))

    def flush() -> None:
        # The batch holds the documents of lines written + 1 ... written + len(batch).
        if not batch:
            return
        try:
            outputs = predictor.predict_batch_json(batch)
        except Exception:
            # Tag the documents one by one to write those before the failing one and name it.
            for document in batch:
                try:
                    output = predictor.predict_json(document)
                except Exception as error:
                    sink.flush()
                    raise InputLineError(
                        name, written + 1, written, f"{type(error).__name__}: {error}"
                    ) from error
                write([output])
        else:
            write(outputs)
        batch.clear()

    for number, raw in enumerate(lines, start=1):
        try:
            document = predictor.load_line(decode_line(raw, number))
        except ValueError as error:
            flush()
            sink.flush()
            raise InputLineError(name, number, written, str(error)) from error
        batch.append(document)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    sink.flush()
    return written
