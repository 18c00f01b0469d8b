"""`bioner-tag FOLDER INPUT`: tag documents with an exported folder, without torch or AllenNLP.

The same input forms, output formats, one record per input document, progress bar and
line-numbered errors as `allennlp bioner-tag` (the flags and the loop are
`hsl_bioner_runtime.command_line`'s); the model is an `allennlp bioner-export` folder run by
`hsl_bioner_runtime.Tagger`. With ``--output-dir``, INPUT is a folder or glob of shards tagged as
a sharded, resumable job, here, on ``--workers`` processes or on Ray (`hsl_bioner_runtime.jobs`).
Also ``python -m hsl_bioner_runtime.cli``.
"""

import argparse
import sys
from contextlib import ExitStack
from typing import Optional, Sequence

from hsl_bioner_runtime.command_line import (
    PROGRAM,
    add_input_arguments,
    open_input,
    run_tagging,
    whole_number,
)
from hsl_bioner_runtime.folder import ExportFolderError
from hsl_bioner_runtime.jobs import add_job_arguments, check_job_arguments, run_job_from_args


def argument_parser() -> argparse.ArgumentParser:
    """The parser of `bioner-tag`'s arguments (commands that extend it add their flags here)."""
    description = (
        "Tag documents (one per line: raw text, or JSON with 'text' and optional 'id'; or a "
        "PubTator or BioC file) with an exported hsl-bioner model (`allennlp bioner-export`); "
        "writes one output document per input document with each entity's character offsets, "
        "type, task and score."
    )
    parser = argparse.ArgumentParser(prog=PROGRAM, description=description)
    parser.add_argument("folder", help="the exported folder (`allennlp bioner-export`)")
    parser.add_argument(
        "input_file",
        help="the UTF-8 documents; '-' reads stdin; with --output-dir, a folder or (quoted) glob "
        "of input shards",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--threads",
        type=whole_number(1, "at least 1"),
        default=None,
        help="threads of each ONNX graph (default: ONNX Runtime's, one per physical core)",
    )
    parser.add_argument(
        "--sentences-per-batch",
        type=whole_number(1, "at least 1"),
        default=32,
        help="sentences per encoder batch, sorted by length (default: 32)",
    )
    add_job_arguments(parser)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argument_parser()
    args = parser.parse_args(argv)
    check_job_arguments(parser, args)
    if args.output_dir is not None:
        sys.exit(run_job_from_args(args.folder, args))
    # Imported here, so that `--help` and usage errors do not wait for onnxruntime.
    from hsl_bioner_runtime.tagger import Tagger

    with ExitStack() as stack:
        source = open_input(args, stack)
        try:
            tagger = Tagger.load(
                args.folder,
                tasks=args.tasks,
                threads=args.threads,
                batch_size=args.sentences_per_batch,
                merge=args.merge,
            )
        except ValueError as error:  # ExportFolderError included: the message names the file
            kind = "bad folder" if isinstance(error, ExportFolderError) else "bad argument"
            sys.exit(f"{PROGRAM}: {kind}: {error}")
        run_tagging(tagger.tag_documents, source, args, stack)


if __name__ == "__main__":
    main()
