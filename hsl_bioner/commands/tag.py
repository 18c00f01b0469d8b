"""`allennlp bioner-tag`: tag a file of documents, one output per input line, with progress.

`allennlp predict --predictor bioner` works too; this command adds what tagging large inputs
needs: a progress bar, one output record for EVERY input line (`allennlp predict` skips blank
lines, so its outputs can drift out of line with the inputs), errors that name the input line,
and the output format, task selection and int8 switch as plain flags.
"""

import argparse
import logging
import sys
from contextlib import ExitStack
from typing import IO, Iterator, List, Tuple

from allennlp.commands.subcommand import Subcommand
from allennlp.common.util import JsonDict
from allennlp.predictors import Predictor
from tqdm import tqdm

from hsl_bioner.predictors.bioner import MERGE_RULES, OUTPUT_FORMATS, BioNerPredictor

logger = logging.getLogger(__name__)


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
        subparser.add_argument("input_file", help="documents, one per line; '-' reads stdin")
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
        output_format=args.format,
        merge=args.merge,
        int8=args.int8,
    )
    with ExitStack() as stack:
        if args.input_file == "-":
            source: IO[str] = sys.stdin
            total = None
        else:
            with open(args.input_file, encoding="utf-8") as counting:
                total = sum(1 for _ in counting)
            source = stack.enter_context(open(args.input_file, encoding="utf-8"))
        sink = (
            stack.enter_context(open(args.output_file, "w", encoding="utf-8"))
            if args.output_file
            else sys.stdout
        )
        lines = tqdm(source, total=total, unit="doc", disable=args.no_progress, file=sys.stderr)
        tag_documents(predictor, lines, sink, args.batch_size, name=args.input_file)


def tag_documents(
    predictor: BioNerPredictor, lines: Iterator[str], sink: IO[str], batch_size: int, name: str
) -> int:
    """Writes one record per line of `lines` (blank lines give records without entities) and
    returns how many were written. A line that cannot be read raises `ValueError` naming
    ``name:line``."""
    written = 0
    batch: List[Tuple[int, JsonDict]] = []

    def flush() -> None:
        nonlocal written
        outputs = predictor.predict_batch_json([document for _, document in batch])
        for output in outputs:
            sink.write(predictor.dump_line(output))
        written += len(outputs)
        batch.clear()

    for number, line in enumerate(lines, start=1):
        try:
            document = predictor.load_line(line)
        except ValueError as error:
            raise ValueError(f"{name}:{number}: {error}") from None
        batch.append((number, document))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return written
