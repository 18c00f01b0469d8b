"""`allennlp bioner-tag`: tag a file of documents, one output document per input document.

`allennlp predict --predictor bioner` works too for files of lines; this command adds what
tagging large inputs and document files needs: PubTator and BioC input (`--input-format`,
detected from the file by default), BioC output (one collection per file), a progress bar, one
output record for EVERY input document (`allennlp predict` skips blank lines, so its outputs can
drift out of line with the inputs), errors that name the input line, and the output format, task
selection and int8 switch as plain flags.

The flags, reading, batching and writing are the runtime core's
(`hsl_bioner_runtime.command_line`, shared with the runtime's own `bioner-tag`): files of lines
are read as bytes and split at ``\\n`` only, each line must be UTF-8, and a document that cannot
be read or tagged stops the run with an error naming where it is, after the output of every
document before it has been written and flushed.
"""

import argparse
import logging
from contextlib import ExitStack

from allennlp.commands.subcommand import Subcommand
from allennlp.predictors import Predictor

from hsl_bioner_runtime.command_line import (
    add_input_arguments,
    open_input,
    run_tagging,
    whole_number,
)

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


def _tag_from_args(args: argparse.Namespace) -> None:
    with ExitStack() as stack:
        source = open_input(args, stack)
        predictor = Predictor.from_path(
            args.archive_file,
            "bioner",
            cuda_device=args.cuda_device,
            tasks=args.tasks,
            merge=args.merge,
            int8=args.int8,
        )
        run_tagging(predictor.predict_batch_json, source, args, stack)
