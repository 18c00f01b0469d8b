"""`allennlp bioner-tag`: tag a file of documents, one output document per input document.

`allennlp predict --predictor bioner` works too for files of lines; this command adds what
tagging large inputs and document files needs: PubTator and BioC input (`--input-format`,
detected from the file by default; `hsl_bioner_runtime.formats.readers`), BioC output (one
collection per file), a progress bar, one output record for EVERY input document (`allennlp
predict` skips blank lines, so its outputs can drift out of line with the inputs), errors that
name the input line, and the output format, task selection and int8 switch as plain flags.
"""

import argparse
import logging
import sys
from contextlib import ExitStack
from typing import IO, Iterable, Iterator, List

from allennlp.commands.subcommand import Subcommand
from allennlp.common.util import JsonDict
from allennlp.predictors import Predictor
from tqdm import tqdm

from hsl_bioner.predictors.bioner import MERGE_RULES, BioNerPredictor
from hsl_bioner_runtime.formats.documents import DOCUMENT_FORMATS, INPUT_FORMATS, Document
from hsl_bioner_runtime.formats.readers import HEAD_BYTES, detect_input_format, read_documents
from hsl_bioner_runtime.formats.writers import OUTPUT_FORMATS, DocumentWriter, document_writer

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
        subparser.add_argument("input_file", help="the documents; '-' reads stdin")
        subparser.add_argument(
            "--input-format",
            choices=("auto",) + INPUT_FORMATS,
            default="auto",
            help="text (a document per line), jsonl (a JSON object per line; other lines are "
            "text), pubtator, bioc-xml or bioc-json (default: detected from the file)",
        )
        subparser.add_argument(
            "--keep-annotations",
            action="store_true",
            help="carry the annotations of PubTator or BioC input into the JSON and BioC output",
        )
        subparser.add_argument("--output-file", help="where to write (default: stdout)")
        subparser.add_argument("--format", choices=OUTPUT_FORMATS, default="json")
        subparser.add_argument("--tasks", nargs="+", help="task heads to run (default: all)")
        subparser.add_argument(
            "--merge",
            choices=MERGE_RULES,
            default="type",
            help="how entities of several heads combine (default: type)",
        )
        subparser.add_argument("--batch-size", type=int, default=16, help="documents per batch")
        subparser.add_argument(
            "--int8",
            action="store_true",
            help="quantise the encoder to int8 (CPU): faster, slightly less exact",
        )
        subparser.add_argument("--cuda-device", type=int, default=-1)
        subparser.add_argument("--no-progress", action="store_true", help="no progress bar")
        subparser.set_defaults(func=_tag_from_args)
        return subparser


def _tag_from_args(args: argparse.Namespace) -> None:
    predictor = Predictor.from_path(
        args.archive_file,
        "bioner",
        cuda_device=args.cuda_device,
        tasks=args.tasks,
        merge=args.merge,
        int8=args.int8,
    )
    input_format = args.input_format
    if input_format == "auto":
        input_format = _detected_format(args.input_file)
    with ExitStack() as stack:
        documents: Iterable[JsonDict]
        if input_format in DOCUMENT_FORMATS:
            stream = (
                sys.stdin.buffer
                if args.input_file == "-"
                else stack.enter_context(open(args.input_file, "rb"))
            )
            read = read_documents(stream, input_format, args.input_file, args.keep_annotations)
            documents = (document.to_json() for document in read)
            total = None
        else:
            if args.input_file == "-":
                source: IO[str] = sys.stdin
                total = None
            else:
                with open(args.input_file, encoding="utf-8") as counting:
                    total = sum(1 for _ in counting)
                source = stack.enter_context(open(args.input_file, encoding="utf-8"))
            documents = line_documents(
                predictor, source, args.input_file, raw=input_format == "text"
            )
        sink = (
            stack.enter_context(open(args.output_file, "w", encoding="utf-8"))
            if args.output_file
            else sys.stdout
        )
        documents = tqdm(
            documents, total=total, unit="doc", disable=args.no_progress, file=sys.stderr
        )
        tag_documents(predictor, documents, sink, args.batch_size, document_writer(args.format))


def _detected_format(path: str) -> str:
    """The input format of a file or of stdin ('-'), from its first bytes (stdin is peeked at,
    not consumed)."""
    if path == "-":
        return detect_input_format(sys.stdin.buffer.peek(HEAD_BYTES))
    with open(path, "rb") as stream:
        return detect_input_format(stream.read(HEAD_BYTES))


def line_documents(
    predictor: BioNerPredictor, lines: Iterable[str], name: str, raw: bool = False
) -> Iterator[JsonDict]:
    """One document per line: the raw line if `raw`, else `BioNerPredictor.load_line`'s (JSON if
    the line starts with "{"). A line that cannot be read raises `ValueError` naming
    ``name:line``."""
    for number, line in enumerate(lines, start=1):
        try:
            document = {"text": line.rstrip("\r\n")} if raw else predictor.load_line(line)
            if "passages" in document:
                Document.from_json(document)  # checked here, where the line is known
        except ValueError as error:
            raise ValueError(f"{name}:{number}: {error}") from None
        yield document


def tag_documents(
    predictor: BioNerPredictor,
    documents: Iterable[JsonDict],
    sink: IO[str],
    batch_size: int,
    writer: DocumentWriter,
) -> int:
    """Writes the file of `writer` with one output document per input document (empty ones
    give documents without entities; one without an id is named by its number) and returns
    how many were written."""
    sink.write(writer.header())
    written = 0
    batch: List[JsonDict] = []

    def flush() -> None:
        nonlocal written
        for output in predictor.predict_batch_json(batch):
            written += 1
            sink.write(writer.document(output, default_id=written))
        batch.clear()

    for document in documents:
        batch.append(document)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    sink.write(writer.footer())
    return written
