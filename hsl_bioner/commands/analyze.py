"""`allennlp bioner-analyze`: the paper's data-level analysis of predictions.

Per data set (task), with T the entity strings of the training files of the task group, L the gold
entity strings of the test file and P the entity strings predicted on it, prints (and writes as
JSON) the five ratios of the paper and the sizes of the sets and of the seven regions of their
Euler diagram, and draws a radar chart of the ratios and one Euler diagram per data set. This
module only parses the command line; the work is done in `hsl_bioner.analysis`.
"""

import argparse
import functools
import logging

from allennlp.commands.subcommand import Subcommand

from hsl_bioner.analysis.inputs import PREDICTION_SCHEMES
from hsl_bioner.analysis.report import format_table, write_json
from hsl_bioner.analysis.run import analyze
from hsl_bioner.analysis.sets import DEFAULT_NORMALISATION, NORMALISATIONS
from hsl_bioner.analysis.spec import DatasetSpec, default_name, load_spec

logger = logging.getLogger(__name__)

_EPILOG = """\
Inputs per data set:
  T  entity strings of the --train files (give every training file of the task group: the
     paper takes T over the whole multi-task group);
  L  gold entity strings of the --test file;
  P  entity strings predicted on the test sentences, from either
     --predictions FILE: the JSON lines of `allennlp evaluate ... --predictions-output-file`
        (objects with "words" and "tags": one per sentence, or lists of them per batch, as
        allennlp 2.10 writes; with a "task" field, only the records of the data set's task are
        used), or an IOB file with predicted tags in the second column. The predicted sentences
        must be the test sentences (in any order); or
     --archive model.tar.gz [--task NAME]: the model tags the test sentences itself.
Entity strings: the tokens of an entity joined by single spaces, whitespace collapsed, then the
--normalise steps. Sets hold strings, not occurrences, and ignore entity types (MTL-XC models
predict unified types), unless --types keeps only some gold types.

Several data sets: a JSON or Jsonnet file for --spec, e.g.
  {"datasets": [
    {"name": "NCBI-disease",
     "train": ["data/NCBI-disease-IOB/train.tsv", "data/BC5CDR-disease-IOB/train.tsv"],
     "test": "data/NCBI-disease-IOB/test.tsv",
     "archive": "runs/mtl_ls/model.tar.gz", "task": "NCBI-disease"},
    {"name": "BC5CDR-disease",
     "train": ["data/NCBI-disease-IOB/train.tsv", "data/BC5CDR-disease-IOB/train.tsv"],
     "test": "data/BC5CDR-disease-IOB/test.tsv",
     "predictions": "bc5cdr_predictions.jsonl"}]}
Keys per data set: name, train, test, predictions | archive, and optionally task, scheme (of the
gold files, default BIO) and types (gold entity types to keep). Relative paths are taken from the
current directory, as in AllenNLP configs. An archive named by several data sets is loaded once.

Ratios (null when the denominator is 0; the output says why):
  generalisation   |C_T ∩ L ∩ P| / |C_T ∩ L|   unseen test entities that were predicted
  coverage         |T ∩ L| / |L|               test entities seen in training
  forgetting       |C_P ∩ T ∩ L| / |T ∩ L|     seen test entities not predicted
  conflict         |C_L ∩ P ∩ T| / |C_L ∩ P|   false positives that are training entities
  over-prediction  (|P| - |L|) / |L|           may be negative
(C_X: complement of X.) --plots writes radar.png and euler_<name>.png per data set.
"""


@Subcommand.register("bioner-analyze")
class AnalyzeCommand(Subcommand):
    """Registered as the `allennlp` subcommand "bioner-analyze"."""

    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "The paper's data-level analysis: per data set, how the entity strings of the\n"
            "training data (T), the test gold standard (L) and the predictions (P) overlap:\n"
            "five ratios and the set sizes, as a table, JSON, a radar chart and Euler diagrams."
        )
        subparser = parser.add_parser(
            self.name,
            description=description,
            help="Data-level analysis of predictions: the paper's five ratios of T, L and P.",
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        one = subparser.add_argument_group("one data set (or use --spec)")
        one.add_argument("--name", help="its name (default: the test file's folder, minus -IOB)")
        one.add_argument("--train", nargs="+", metavar="FILE", help="IOB training files (T)")
        one.add_argument("--test", metavar="FILE", help="IOB test file (L)")
        source = one.add_mutually_exclusive_group()
        source.add_argument(
            "--predictions", metavar="FILE", help="predictions: evaluate JSON lines or IOB (P)"
        )
        source.add_argument("--archive", metavar="FILE", help="model.tar.gz that predicts P")
        one.add_argument("--task", help="task of the predictions (archive or multi-task JSON)")
        one.add_argument("--scheme", default="BIO", help="tag scheme of the gold files")
        one.add_argument(
            "--types", nargs="+", metavar="TYPE", help="gold entity types to keep (each must occur)"
        )
        subparser.add_argument(
            "--spec", metavar="FILE", help="JSON/Jsonnet file listing several data sets (below)"
        )
        subparser.add_argument(
            "--normalise",
            nargs="+",
            choices=[*NORMALISATIONS, "none"],
            default=list(DEFAULT_NORMALISATION),
            metavar="STEP",
            help="entity-string normalisation, any of: "
            + "; ".join(f"{name}: {what}" for name, what in NORMALISATIONS.items())
            + "; or 'none'. Whitespace is always collapsed.",
        )
        subparser.add_argument(
            "--predictions-scheme",
            choices=PREDICTION_SCHEMES,
            default="auto",
            help="tag scheme of --predictions files; auto: BIOUL if any tag starts with L-, U-, "
            "E- or S-, else BIO",
        )
        subparser.add_argument("--output-json", metavar="FILE", help="write the results here")
        subparser.add_argument("--plots", metavar="DIR", help="write the PNG pictures here")
        subparser.add_argument(
            "--examples", type=int, default=5, help="strings per region kept in the JSON"
        )
        subparser.add_argument(
            "--batch-size", type=int, default=32, help="sentences per batch (--archive)"
        )
        subparser.add_argument(
            "--cuda-device", type=int, default=-1, help="GPU for --archive; -1: CPU"
        )
        # The parser comes along so that wrong flag combinations get argparse's usage message.
        subparser.set_defaults(func=functools.partial(_analyze_from_args, parser=subparser))
        return subparser


def _analyze_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    flags = [args.train, args.test, args.predictions, args.archive]
    if args.spec:
        one_dataset_flags = args.name or args.task or args.types or args.scheme != "BIO"
        if any(flag is not None for flag in flags) or one_dataset_flags:
            parser.error("give either --spec or the flags of one data set, not both")
        datasets = load_spec(args.spec)
    else:
        if not args.train or not args.test or (args.predictions is None and not args.archive):
            parser.error(
                "give --train FILE [FILE ...], --test FILE and --predictions FILE or --archive "
                "FILE (or --spec FILE for several data sets)"
            )
        datasets = [
            DatasetSpec(
                name=args.name or default_name(args.test),
                train=args.train,
                test=args.test,
                predictions=args.predictions,
                archive=args.archive,
                task=args.task,
                scheme=args.scheme,
                types=args.types,
            )
        ]
    analyses = analyze(
        datasets,
        normalisation=args.normalise,
        predictions_scheme=args.predictions_scheme,
        examples=args.examples,
        batch_size=args.batch_size,
        cuda_device=args.cuda_device,
    )
    print(format_table(analyses))
    if args.output_json:
        write_json(analyses, datasets, args.normalise, args.output_json)
        logger.info("Wrote %s", args.output_json)
    if args.plots:
        from hsl_bioner.analysis.plots import write_plots

        for path in write_plots(analyses, args.plots):
            logger.info("Wrote %s", path)
