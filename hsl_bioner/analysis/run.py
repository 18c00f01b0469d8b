"""The analysis of data sets from their files: reads T, L and P of each (`DatasetSpec`), tags the
test sentences when a model archive is given, and computes the sets (`analyse_sets`)."""
from typing import AbstractSet, Dict, Iterable, List, Sequence

from allennlp.common.checks import ConfigurationError
from allennlp.models.archival import Archive, load_archive

from hsl_bioner.analysis.inputs import check_alignment, detect_scheme, read_predictions, read_tagged
from hsl_bioner.analysis.sets import (
    DEFAULT_NORMALISATION,
    SetAnalysis,
    analyse_sets,
    check_normalisation,
    entity_strings,
    entity_strings_by_type,
    strings_of_types,
)
from hsl_bioner.analysis.spec import DatasetSpec, check_unique_names
from hsl_bioner.analysis.tagging import predict_with_archive


def analyze(
    datasets: Sequence[DatasetSpec],
    normalisation: Iterable[str] = DEFAULT_NORMALISATION,
    predictions_scheme: str = "auto",
    examples: int = 5,
    batch_size: int = 32,
    cuda_device: int = -1,
) -> Dict[str, SetAnalysis]:
    """Analyses each data set; returns data-set name -> `SetAnalysis`, in the given order.

    Raises `ConfigurationError` when a data set's ``types`` names a type that occurs in none of
    its gold files (almost surely a typo or the wrong files: every ratio would be n/a).

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
    check_unique_names(dataset.name for dataset in datasets)
    archives: Dict[str, Archive] = {}
    # Data sets of one task group share their training files: each file is read once.
    gold_files: Dict[tuple, Dict[str, set]] = {}

    def gold_by_type(path: str, scheme: str) -> Dict[str, set]:
        if (path, scheme) not in gold_files:
            sentences = read_tagged(path, scheme)
            gold_files[path, scheme] = entity_strings_by_type(sentences, scheme, chosen)
        return gold_files[path, scheme]

    analyses: Dict[str, SetAnalysis] = {}
    for dataset in datasets:
        types = set(dataset.types) if dataset.types else None
        train_by_type = [gold_by_type(path, dataset.scheme) for path in dataset.train]
        test_sentences = read_tagged(dataset.test, dataset.scheme)
        test_by_type = entity_strings_by_type(test_sentences, dataset.scheme, chosen)
        if types is not None:
            _check_types(dataset, types, [*train_by_type, test_by_type])
        train = set().union(*(strings_of_types(by_type, types) for by_type in train_by_type))
        gold = strings_of_types(test_by_type, types)
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
        analyses[dataset.name] = analyse_sets(train, gold, predicted_strings, examples=examples)
    return analyses


def _check_types(
    dataset: DatasetSpec, types: AbstractSet[str], gold: List[Dict[str, set]]
) -> None:
    occurring: List[str] = []
    for by_type in gold:
        occurring.extend(t for t in by_type if t not in occurring)
    absent = sorted(set(types) - set(occurring))
    if absent:
        files = ", ".join([*dataset.train, dataset.test])
        there = ", ".join(sorted(occurring)) if occurring else "none (no entity at all)"
        raise ConfigurationError(
            f"data set {dataset.name!r}: no gold entity of type(s) {', '.join(absent)} in "
            f"{files} (scheme {dataset.scheme}); the entity types there are: {there}. "
            "Give --types (or \"types\" in the spec) from these."
        )

