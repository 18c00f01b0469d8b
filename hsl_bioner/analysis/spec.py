"""What the analysis of each data set reads: `DatasetSpec`, from the command line or from a JSON or
Jsonnet spec file listing several data sets (`load_spec`)."""
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, List, Optional

from allennlp.common.checks import ConfigurationError
from allennlp.common.params import evaluate_file

from hsl_bioner_runtime.tag_schemes import normalize_scheme

SPEC_KEYS = ("name", "train", "test", "predictions", "archive", "task", "scheme", "types")
"""The keys of a data set in a spec file (the fields of `DatasetSpec`)."""


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
        config maps the others to ``O``); predictions are never filtered by type. Each type must
        occur in the gold files (a `ConfigurationError` otherwise, raised when they are read).
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


def check_unique_names(names: Iterable[str], where: str = "") -> None:
    """Raises `ConfigurationError` if a data-set name is used twice: results are keyed by name,
    so a second data set of one name would replace the first. ``where`` prefixes the message
    (e.g. the spec file)."""
    names = list(names)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        prefix = f"{where}: d" if where else "D"
        raise ConfigurationError(f"{prefix}ata-set names used twice: {', '.join(duplicates)}.")


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
    check_unique_names((dataset.name for dataset in datasets), str(path))
    return datasets
