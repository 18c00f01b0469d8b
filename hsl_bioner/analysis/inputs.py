"""The tagged sentences the analysis reads: gold IOB files and predictions files (`allennlp
evaluate` JSON lines or IOB), the tag scheme of predictions, and the check that predictions are of
the test sentences."""
import json
from collections import Counter
from typing import List, Optional, Sequence, Tuple

from allennlp.common.checks import ConfigurationError

from hsl_bioner.data.iob_reader import read_iob_sentences
from hsl_bioner_runtime.tag_schemes import normalize_scheme

Tagged = Tuple[List[str], List[str]]
"""(words, tags) of one sentence."""

PREDICTION_SCHEMES = ("auto", "BIO", "IOB1", "BIOUL")
"""The tag schemes a predictions file may be read in; ``auto``: see `detect_scheme`."""


def read_tagged(path: str, scheme: str) -> List[Tagged]:
    """The ``(words, tags)`` of the sentences of an IOB file, checked against ``scheme`` (errors
    name ``path:line``, see `read_iob_sentences`)."""
    return [(sentence.words, sentence.tags) for sentence in read_iob_sentences(path, scheme)]


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
            return read_tagged(path, normalize_scheme(scheme))
        # A BIO sequence with entities is never valid BIOUL (B- must be closed by L-) and
        # vice versa, so trying one then the other cannot misread a file.
        try:
            return read_tagged(path, "BIOUL")
        except ValueError:
            return read_tagged(path, "BIO")
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
