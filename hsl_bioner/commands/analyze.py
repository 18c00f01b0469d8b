"""`allennlp bioner-analyze`: the paper's data-level analysis of predictions.

Per data set (task), with T the entity strings of the training files of the task group, L the gold
entity strings of the test file and P the entity strings predicted on it, prints (and writes as
JSON) the five ratios of the paper and the sizes of the sets and of the seven regions of their
Euler diagram, and draws a radar chart of the ratios and one Euler diagram per data set. The set
computation is `hsl_bioner.analysis.sets`; this module reads the inputs and runs a model when asked.
"""

import argparse
import functools
import json
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from allennlp.commands.subcommand import Subcommand
from allennlp.common.checks import ConfigurationError
from allennlp.common.params import evaluate_file
from allennlp.common.tqdm import Tqdm
from allennlp.data.dataset_readers import MultiTaskDatasetReader
from allennlp.models.archival import Archive, load_archive

from hsl_bioner.analysis.sets import (
    DEFAULT_NORMALISATION,
    NORMALISATIONS,
    RATIOS,
    REGIONS,
    SetAnalysis,
    analyse_sets,
    check_normalisation,
    entity_strings,
)
from hsl_bioner.data.iob_reader import read_iob_sentences
from hsl_bioner_runtime.tag_schemes import normalize_scheme

logger = logging.getLogger(__name__)

Tagged = Tuple[List[str], List[str]]  # (words, tags) of one sentence

SPEC_KEYS = ("name", "train", "test", "predictions", "archive", "task", "scheme", "types")
PREDICTION_SCHEMES = ("auto", "BIO", "IOB1", "BIOUL")

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


@dataclass
class DatasetSpec:
    """What the analysis of one data set reads.

    name : `str`
        The data set's name in the table, the JSON and the pictures.
    train : `List[str]`
        The IOB training files of the task group (T is the union of their entity strings).
    test : `str`
        The IOB test file (L).
    predictions : `str`, optional
        Predictions on the test sentences: `allennlp evaluate` JSON lines or an IOB file.
    archive : `str`, optional
        A model archive that tags the test sentences (instead of ``predictions``).
    task : `str`, optional
        The task whose predictions to use (archive, or JSON lines holding several tasks);
        default: the only task, or the task named like the data set.
    scheme : `str`, optional (default = `"BIO"`)
        The tag scheme of the gold files (train and test).
    types : `List[str]`, optional
        Keep only gold entities of these types (e.g. the types a model was trained on when its
        config maps the others to ``O``); predictions are never filtered by type.
    """

    name: str
    train: List[str]
    test: str
    predictions: Optional[str] = None
    archive: Optional[str] = None
    task: Optional[str] = None
    scheme: str = "BIO"
    types: Optional[List[str]] = field(default=None)

    def __post_init__(self) -> None:
        where = f"data set {self.name!r}"
        # A single file may be given as a string, in the spec as on the command line.
        if isinstance(self.train, str):
            self.train = [self.train]
        if isinstance(self.types, str):
            self.types = [self.types]
        if not self.train:
            raise ConfigurationError(f"{where}: give at least one training file.")
        if not self.test:
            raise ConfigurationError(f"{where}: give the test file.")
        if (self.predictions is None) == (self.archive is None):
            raise ConfigurationError(
                f"{where}: give exactly one of predictions (a file) and archive (a model)."
            )
        try:
            self.scheme = normalize_scheme(self.scheme)
        except ValueError as error:
            raise ConfigurationError(f"{where}: {error}") from None


def default_name(test_file: str) -> str:
    """A data-set name from the test file's folder: ``.../NCBI-disease-IOB/test.tsv`` gives
    ``NCBI-disease``."""
    folder = Path(test_file).resolve().parent.name
    return re.sub(r"-IOB$", "", folder) or Path(test_file).stem


def load_spec(path: str) -> List[DatasetSpec]:
    """The data sets of a JSON or Jsonnet spec file: ``{"datasets": [{...}, ...]}`` (or just the
    list), each with the keys of `SPEC_KEYS`. Jsonnet external variables come from the
    environment, as for AllenNLP configs."""
    try:
        spec = json.loads(evaluate_file(str(path), ext_vars=dict(os.environ)))
    except (RuntimeError, ValueError) as error:
        raise ConfigurationError(f"{path}: not valid JSON or Jsonnet: {error}") from None
    entries = spec.get("datasets") if isinstance(spec, dict) else spec
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f"{path}: expected {{\"datasets\": [...]}} with data sets.")
    datasets = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise ConfigurationError(f"{path}: data set {number} is not an object.")
        unknown = sorted(set(entry) - set(SPEC_KEYS))
        if unknown:
            raise ConfigurationError(
                f"{path}: data set {number}: unknown key(s) {', '.join(unknown)}; "
                f"known keys: {', '.join(SPEC_KEYS)}."
            )
        if "test" not in entry or "train" not in entry:
            raise ConfigurationError(f"{path}: data set {number} needs 'train' and 'test'.")
        entry = {"name": default_name(entry["test"]), **entry}
        datasets.append(DatasetSpec(**entry))
    names = [dataset.name for dataset in datasets]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigurationError(f"{path}: data-set names used twice: {', '.join(duplicates)}.")
    return datasets


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
        one.add_argument("--types", nargs="+", metavar="TYPE", help="gold entity types to keep")
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


def analyze(
    datasets: Sequence[DatasetSpec],
    normalisation: Iterable[str] = DEFAULT_NORMALISATION,
    predictions_scheme: str = "auto",
    examples: int = 5,
    batch_size: int = 32,
    cuda_device: int = -1,
) -> Dict[str, SetAnalysis]:
    """Analyses each data set; returns data-set name -> `SetAnalysis`, in the given order.

    # Parameters

    datasets : `Sequence[DatasetSpec]`
        The data sets and their inputs.
    normalisation : `Iterable[str]`, optional (default = `("case",)`)
        Entity-string normalisation steps (`hsl_bioner.analysis.sets.NORMALISATIONS`, or
        ``["none"]``).
    predictions_scheme : `str`, optional (default = `"auto"`)
        Tag scheme of predictions files (`PREDICTION_SCHEMES`); see `detect_scheme`.
    examples : `int`, optional (default = `5`)
        Strings per region kept in each analysis.
    batch_size : `int`, optional (default = `32`)
        Sentences per batch when an archive predicts.
    cuda_device : `int`, optional (default = `-1`)
        Device of archived models (-1: CPU).
    """
    chosen = check_normalisation(normalisation)
    names = [dataset.name for dataset in datasets]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        # Results are keyed by name: a second data set of one name would replace the first.
        raise ConfigurationError(f"Data-set names used twice: {', '.join(duplicates)}.")
    archives: Dict[str, Archive] = {}
    train_sets: Dict[tuple, set] = {}
    analyses: Dict[str, SetAnalysis] = {}
    for dataset in datasets:
        types = set(dataset.types) if dataset.types else None
        # Data sets of one task group share their training files: read them once.
        train_key = (tuple(dataset.train), dataset.scheme, frozenset(types or ()))
        if train_key not in train_sets:
            train_sets[train_key] = set().union(
                *(_gold_strings(path, dataset.scheme, chosen, types) for path in dataset.train)
            )
        test_sentences = _read_iob(dataset.test, dataset.scheme)
        gold = entity_strings(test_sentences, dataset.scheme, chosen, types)
        if dataset.archive is not None:
            if dataset.archive not in archives:
                archives[dataset.archive] = load_archive(dataset.archive, cuda_device=cuda_device)
            predicted, scheme = predict_with_archive(
                archives[dataset.archive],
                [words for words, _ in test_sentences],
                task=dataset.task,
                dataset_name=dataset.name,
                batch_size=batch_size,
            )
        else:
            predicted = read_predictions(
                dataset.predictions, dataset.task, dataset.name, predictions_scheme
            )
            check_alignment(predicted, test_sentences, dataset.predictions, dataset.test)
            scheme = detect_scheme(predicted, predictions_scheme)
        predicted_strings = entity_strings(predicted, scheme, chosen)
        analyses[dataset.name] = analyse_sets(
            train_sets[train_key], gold, predicted_strings, examples=examples
        )
    return analyses


def _read_iob(path: str, scheme: str) -> List[Tagged]:
    return [(s.words, s.tags) for s in read_iob_sentences(path, scheme)]


def _gold_strings(path: str, scheme: str, normalisation: Sequence[str], types) -> set:
    return entity_strings(_read_iob(path, scheme), scheme, normalisation, types)


def detect_scheme(sentences: Sequence[Tagged], scheme: str = "auto") -> str:
    """The tag scheme of predicted tags: ``scheme`` itself unless it is ``"auto"``, in which case
    BIOUL if any tag starts with L-, U-, E- or S- (what a BIOUL-coded model writes), else BIO."""
    if scheme != "auto":
        return normalize_scheme(scheme)
    for _, tags in sentences:
        if any(tag[:2] in ("L-", "U-", "E-", "S-") for tag in tags):
            return "BIOUL"
    return "BIO"


def read_predictions(
    path: str, task: Optional[str], dataset_name: str, scheme: str = "auto"
) -> List[Tagged]:
    """The ``(words, tags)`` of a predictions file: JSON lines from `allennlp evaluate
    --predictions-output-file` (a file whose first non-blank character is ``{``) or an IOB file.

    JSON objects hold "words" and "tags" for one sentence, or lists of them for a batch (as
    allennlp 2.10 writes them), and optionally "task". Records of several tasks are filtered to
    ``task``, or, when ``task`` is None, to the task named ``dataset_name``. ``scheme`` is
    the tag scheme an IOB file is checked against (``"auto"``: BIOUL, else BIO); JSON tags are
    checked when their entities are read.
    """
    with open(path, encoding="utf-8") as handle:
        head = handle.read(4096).lstrip()
    if not head.startswith("{"):
        if scheme != "auto":
            return _read_iob(path, normalize_scheme(scheme))
        # A BIO sequence with entities is never valid BIOUL (B- must be closed by L-) and
        # vice versa, so trying one then the other cannot misread a file.
        try:
            return _read_iob(path, "BIOUL")
        except ValueError:
            return _read_iob(path, "BIO")
    records: List[Tuple[Optional[str], List[str], List[str]]] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                words, tags = record["words"], record["tags"]
            except (ValueError, KeyError, TypeError) as error:
                raise ConfigurationError(
                    f"{path}:{number}: expected a JSON object with 'words' and 'tags' "
                    f"({type(error).__name__}: {error})"
                ) from None
            tasks = record.get("task")
            if words and isinstance(words[0], list):  # one batch
                if not isinstance(tasks, list):
                    tasks = [tasks] * len(words)
                records.extend(zip(tasks, words, tags))
            else:
                records.append((tasks, words, tags))
    tasks_seen = sorted({str(t) for t, _, _ in records if t is not None})
    wanted = task
    if wanted is None and len(tasks_seen) > 1:
        if dataset_name not in tasks_seen:
            raise ConfigurationError(
                f"{path} holds predictions of the tasks {', '.join(tasks_seen)}: say which one "
                f"is data set {dataset_name!r} with --task (or \"task\" in the spec)."
            )
        wanted = dataset_name
    if wanted is not None and tasks_seen and wanted not in tasks_seen:
        raise ConfigurationError(
            f"{path} has no predictions of task {wanted!r}; its tasks: {', '.join(tasks_seen)}."
        )
    return [
        (list(words), list(tags))
        for record_task, words, tags in records
        if wanted is None or record_task is None or record_task == wanted
    ]


def check_alignment(
    predicted: Sequence[Tagged], test: Sequence[Tagged], predictions_path: str, test_path: str
) -> None:
    """Raises `ConfigurationError` unless the predicted sentences are the test sentences (the
    same word sequences, each as often, in any order: `allennlp evaluate` sorts batches by
    length) and each has one tag per word."""
    for words, tags in predicted:
        if len(words) != len(tags):
            raise ConfigurationError(
                f"{predictions_path}: {len(tags)} tags for {len(words)} words in the predicted "
                f"sentence {' '.join(words)[:80]!r}."
            )
    wanted = Counter(tuple(words) for words, _ in test)
    got = Counter(tuple(words) for words, _ in predicted)
    if wanted != got:
        missing, extra = wanted - got, got - wanted
        problems = []
        if missing:
            example = " ".join(next(iter(missing)))[:80]
            problems.append(
                f"{sum(missing.values())} test sentence(s) have no prediction (e.g. {example!r})"
            )
        if extra:
            example = " ".join(next(iter(extra)))[:80]
            problems.append(
                f"{sum(extra.values())} predicted sentence(s) are not in the test file "
                f"(e.g. {example!r})"
            )
        raise ConfigurationError(
            f"The predictions {predictions_path} are not of the test sentences of {test_path}: "
            + "; ".join(problems)
            + " (wrong file or task?)"
        )


def predict_with_archive(
    archive: Archive,
    sentences: Sequence[List[str]],
    task: Optional[str] = None,
    dataset_name: Optional[str] = None,
    batch_size: int = 32,
) -> Tuple[List[Tagged], str]:
    """Tags ``sentences`` (lists of words) with an archived model; returns their ``(words, tags)``
    and the tag scheme of the tags (the model's ``label_encoding``, else detected).

    # Parameters

    archive : `Archive`
        From `load_archive`.
    sentences : `Sequence[List[str]]`
        The test sentences' words.
    task : `str`, optional
        The task head to use, for a `multitask` reader; default: the only task, or the task named
        ``dataset_name``.
    dataset_name : `str`, optional
        Used to find the task when ``task`` is not given.
    batch_size : `int`, optional (default = `32`)
        Sentences per batch (sorted by length, so batches have little padding).
    """
    model = archive.model
    model.eval()
    reader = archive.validation_dataset_reader
    if isinstance(reader, MultiTaskDatasetReader):
        tasks = sorted(reader.readers)
        if task is None:
            if len(tasks) == 1:
                task = tasks[0]
            elif dataset_name in reader.readers:
                task = dataset_name
            else:
                raise ConfigurationError(
                    f"The archive has the tasks {', '.join(tasks)}: say which one is data set "
                    f"{dataset_name!r} with --task (or \"task\" in the spec)."
                )
        if task not in reader.readers:
            raise ConfigurationError(
                f"The archive has no task {task!r}; its tasks: {', '.join(tasks)}."
            )
        reader = reader.readers[task]
    elif task is not None and getattr(model, "tasks", [task]) != [task]:
        raise ConfigurationError(f"The archive's model has no task {task!r}.")
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    tags: List[Optional[List[str]]] = [None] * len(sentences)
    starts = range(0, len(order), batch_size)
    for start in Tqdm.tqdm(starts, desc="tagging", total=len(starts)):
        rows = order[start : start + batch_size]
        instances = []
        for row in rows:
            instance = reader.text_to_instance(sentences[row])
            reader.apply_token_indexers(instance)
            instances.append(instance)
        for row, output in zip(rows, model.forward_on_instances(instances)):
            tags[row] = list(output["tags"])
    tagged = [(list(words), row_tags) for words, row_tags in zip(sentences, tags)]
    encoding = getattr(model, "label_encoding", None)
    return tagged, normalize_scheme(encoding) if encoding else detect_scheme(tagged)


_REGION_ORDER = ("T_L_P", "T_L_only", "L_P_only", "L_only", "T_P_only", "P_only", "T_only")


def format_table(analyses: Dict[str, SetAnalysis]) -> str:
    """The analyses as a text table: one column per data set; the five ratios (with their
    fractions), the set sizes and the region sizes as rows; undefined ratios are ``n/a``, with
    the reason under the table."""
    names = list(analyses)
    notes: List[str] = []
    values: Dict[str, List[str]] = {}  # ratio key -> formatted value per data set
    fractions: Dict[str, List[str]] = {}
    for ratio in RATIOS:
        values[ratio.key], fractions[ratio.key] = [], []
        for name in names:
            value = analyses[name].ratios[ratio.key]
            numerator, denominator = analyses[name].fractions[ratio.key]
            if value is None:
                notes.append(f"{name}, {ratio.name}: n/a because {ratio.undefined_when}")
            values[ratio.key].append("n/a" if value is None else f"{value:.3f}")
            fractions[ratio.key].append(f"({numerator}/{denominator})")
    # Within a data set's column, values are right-aligned and fractions left-aligned, so the
    # decimal points line up.
    value_widths = [max(len(values[r.key][i]) for r in RATIOS) for i in range(len(names))]
    fraction_widths = [max(len(fractions[r.key][i]) for r in RATIOS) for i in range(len(names))]
    rows: List[Tuple[str, str, List[str]]] = [
        (
            ratio.name,
            ratio.formula,
            [
                f"{values[ratio.key][i].rjust(value_widths[i])} "
                f"{fractions[ratio.key][i].ljust(fraction_widths[i])}"
                for i in range(len(names))
            ],
        )
        for ratio in RATIOS
    ]
    rows.append(("", "", ["" for _ in names]))
    for key, meaning in (("T", "training"), ("L", "test gold"), ("P", "predicted")):
        rows.append((f"|{key}|", meaning, [str(analyses[n].sizes[key]) for n in names]))
    for key in _REGION_ORDER:
        rows.append(("region", REGIONS[key], [str(analyses[n].regions[key]) for n in names]))
    widths = [
        max(len(row[0]) for row in rows),
        max(len(row[1]) for row in rows),
        *(max(len(name), *(len(row[2][i]) for row in rows)) for i, name in enumerate(names)),
    ]
    lines = [
        "  ".join(
            [" " * widths[0], " " * widths[1]]
            + [name.rjust(width) for name, width in zip(names, widths[2:])]
        ).rstrip()
    ]
    for label, formula, cells in rows:
        lines.append(
            "  ".join(
                [label.ljust(widths[0]), formula.ljust(widths[1])]
                + [cell.rjust(width) for cell, width in zip(cells, widths[2:])]
            ).rstrip()
        )
    if notes:
        lines.append("")
        lines.extend(notes)
    return "\n".join(lines)


def results_json(
    analyses: Dict[str, SetAnalysis],
    datasets: Sequence[DatasetSpec],
    normalisation: Iterable[str],
) -> Dict[str, object]:
    """The JSON written by ``--output-json``: the definitions, the normalisation used and, per
    data set, its inputs and `SetAnalysis.to_json` (ratios ``null`` when undefined, with the
    reason under "undefined")."""
    inputs = {dataset.name: dataset for dataset in datasets}
    return {
        "normalisation": list(check_normalisation(normalisation)),
        "ratios": {
            ratio.key: {"name": ratio.name, "formula": ratio.formula, "meaning": ratio.meaning}
            for ratio in RATIOS
        },
        "regions": dict(REGIONS),
        "datasets": {
            name: {
                "inputs": {
                    key: value
                    for key, value in vars(inputs[name]).items()
                    if value is not None and key != "name"
                },
                **analysis.to_json(),
            }
            for name, analysis in analyses.items()
        },
    }


def write_json(
    analyses: Dict[str, SetAnalysis],
    datasets: Sequence[DatasetSpec],
    normalisation: Iterable[str],
    path: str,
) -> None:
    """Writes `results_json` to ``path`` (UTF-8, indented)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        results = results_json(analyses, datasets, normalisation)
        json.dump(results, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
