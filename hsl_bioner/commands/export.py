"""`allennlp bioner-export`: a trained tagger -> the folder the torch-free runtime loads.

    allennlp bioner-export model.tar.gz DIR [--tasks T ...] [--int8 [--int8-method dynamic|static]
        [--fp32-layers 0 -1] [--calibration-file FILE]] [--force]

The folder (docs/export_format.md) holds ONNX graphs of the shared stack and of each group's upper
stack and projection, the encoder's tokenizer, the CRFs, the tag vocabularies, the raw-text
tokenizer's settings and a manifest with the SHA-256 of every file; `hsl_bioner_runtime` tags
text with it (``Tagger.load(DIR)``) without torch, transformers or AllenNLP.
"""

import argparse
import logging
import sys

from allennlp.commands.subcommand import Subcommand
from allennlp.common.checks import ConfigurationError

from hsl_bioner.export import export_archive
from hsl_bioner.export.quantize import DEFAULT_FP32_LAYERS, DEFAULT_METHOD, METHODS

logger = logging.getLogger(__name__)


@Subcommand.register("bioner-export")
class ExportTagger(Subcommand):
    """Registered as the `allennlp` subcommand "bioner-export"."""

    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "Export a hsl-bioner model (model.tar.gz) to a folder of ONNX graphs, tokenizer, CRF "
            "parameters and settings that the hsl-bioner-runtime tags text with, without torch "
            "or AllenNLP."
        )
        subparser = parser.add_parser(self.name, description=description, help=description)
        subparser.add_argument("archive_file", help="model.tar.gz from `allennlp train`")
        subparser.add_argument("output_dir", help="the folder to write (absent or empty)")
        subparser.add_argument("--tasks", nargs="+", help="task heads to export (default: all)")
        subparser.add_argument(
            "--int8",
            action="store_true",
            help="quantise the encoder layers to int8 (ONNX Runtime): faster, slightly less exact",
        )
        subparser.add_argument(
            "--int8-method",
            choices=METHODS,
            default=DEFAULT_METHOD,
            help=f"dynamic (no data needed) or static (calibrated on training sentences); "
            f"default {DEFAULT_METHOD}",
        )
        subparser.add_argument(
            "--fp32-layers",
            type=int,
            nargs="*",
            default=list(DEFAULT_FP32_LAYERS),
            help="encoder layers kept in fp32 with --int8 (negative: from the top; default "
            f"{' '.join(map(str, DEFAULT_FP32_LAYERS))}; none: every layer int8)",
        )
        subparser.add_argument(
            "--calibration-file",
            help="sentences for static int8 (IOB, or one sentence of words per line; default: "
            "the training data named by the archive's config)",
        )
        subparser.add_argument(
            "--force", action="store_true", help="replace output_dir if it exists and holds files"
        )
        subparser.set_defaults(func=_export_from_args)
        return subparser


def _export_from_args(args: argparse.Namespace) -> None:
    try:
        folder = export_archive(
            args.archive_file,
            args.output_dir,
            tasks=args.tasks,
            int8=args.int8,
            int8_method=args.int8_method,
            fp32_layers=args.fp32_layers,
            calibration_file=args.calibration_file,
            force=args.force,
        )
    except ConfigurationError as error:
        # A wrong archive, task or folder: the message says which; a traceback adds nothing.
        sys.exit(f"bioner-export: {error.message}")
    print(f"Exported {args.archive_file} to {folder}")
