"""`allennlp bioner-analyze`: the paper's five ratios, checked against arithmetic done by hand on
tiny IOB files, the input formats (IOB, evaluate's JSON lines, a model archive), the pictures and
the CLI entry."""

import json
import random
from pathlib import Path
from typing import List, Tuple

import pytest
from allennlp.common.checks import ConfigurationError

from hsl_bioner.analysis.plots import write_plots
from hsl_bioner.analysis.report import format_table, results_json
from hsl_bioner.analysis.run import analyze
from hsl_bioner.analysis.sets import analyse_sets, entity_strings, normalise_entity
from hsl_bioner.analysis.spec import DatasetSpec, load_spec
from tests.conftest import run_allennlp

Sentence = List[Tuple[str, str]]

# The tiny fixture model gains nothing from several threads, and when other torch processes share
# the machine's cores, OpenMP's spinning threads slowed its training ~50x here (30 s an epoch
# instead of 0.4 s): one thread keeps this module's subprocesses fast whatever else runs.
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def write_iob(path: Path, sentences: List[Sentence]) -> str:
    path.write_text(
        "\n\n".join("\n".join(f"{word}\t{tag}" for word, tag in s) for s in sentences) + "\n",
        encoding="utf-8",
    )
    return str(path)


def words_of(sentence: Sentence) -> List[str]:
    return [word for word, _ in sentence]


# Two training files of one task group (different type names: types are ignored).
TRAIN_1 = [
    [("Breast", "B-Disease"), ("cancer", "I-Disease"), ("and", "O"), ("asthma", "B-Disease")],
    [("Patients", "O"), ("with", "O"), ("Non", "B-Disease"), ("-", "I-Disease"),
     ("small", "I-Disease"), ("cell", "I-Disease"), ("lung", "I-Disease"),
     ("cancer", "I-Disease"), (".", "O")],
]  # fmt: skip
TRAIN_2 = [[("Diabetes", "B-DISO"), ("mellitus", "I-DISO"), ("and", "O"), ("gout", "B-DISO")]]
# Gold test sentences; "breast cancer" occurs twice (and in two cases) but is one string.
TEST = [
    [("BREAST", "B-Disease"), ("CANCER", "I-Disease"), ("and", "O"), ("gout", "B-Disease"),
     ("and", "O"), ("flu", "B-Disease"), (".", "O")],
    [("Asthma", "B-Disease"), ("or", "O"), ("malaria", "B-Disease"), ("and", "O"),
     ("breast", "B-Disease"), ("cancer", "I-Disease")],
    [("Diabetes", "O"), ("mellitus", "O"), ("was", "O"), ("excluded", "O"), (".", "O")],
]  # fmt: skip
# Predicted tags for the same sentences: gout, asthma and malaria missed; "and" and "Diabetes
# mellitus" (a training entity that the test annotators left out) predicted wrongly.
PREDICTED = [
    ["B-Disease", "I-Disease", "O", "O", "O", "B-Disease", "O"],
    ["O", "O", "O", "B-Disease", "B-Disease", "I-Disease"],
    ["B-Disease", "I-Disease", "O", "O", "O"],
]

# By hand, with case-folding (the default):
#   T = {breast cancer, asthma, non - small cell lung cancer, diabetes mellitus, gout}  |T| = 5
#   L = {breast cancer, gout, flu, asthma, malaria}                                      |L| = 5
#   P = {breast cancer, flu, and, diabetes mellitus}                                     |P| = 4
# Regions:
#   T ∩ L ∩ P     = {breast cancer}                    1
#   T ∩ L ∩ C_P   = {gout, asthma}                     2
#   C_T ∩ L ∩ P   = {flu}                              1
#   C_T ∩ L ∩ C_P = {malaria}                          1
#   T ∩ C_L ∩ P   = {diabetes mellitus}                1
#   C_T ∩ C_L ∩ P = {and}                              1
#   T ∩ C_L ∩ C_P = {non - small cell lung cancer}     1
EXPECTED_REGIONS = {
    "T_L_P": 1,
    "T_L_only": 2,
    "L_P_only": 1,
    "L_only": 1,
    "T_P_only": 1,
    "P_only": 1,
    "T_only": 1,
}
EXPECTED_RATIOS = {
    "generalisation": 1 / 2,  # |C_T ∩ L ∩ P| / |C_T ∩ L| = |{flu}| / |{flu, malaria}| = 1/2
    "coverage": 3 / 5,  # |T ∩ L| / |L| = |{breast cancer, gout, asthma}| / 5 = 3/5
    "forgetting": 2 / 3,  # |C_P ∩ T ∩ L| / |T ∩ L| = |{gout, asthma}| / 3 = 2/3
    "conflict": 1 / 2,  # |C_L ∩ P ∩ T| / |C_L ∩ P| = |{diabetes mellitus}| / |{.., and}| = 1/2
    "over_prediction": -1 / 5,  # (|P| - |L|) / |L| = (4 - 5) / 5 = -1/5
}


@pytest.fixture()
def files(tmp_path) -> dict:
    predicted = [
        [(word, tag) for (word, _), tag in zip(sentence, tags)]
        for sentence, tags in zip(TEST, PREDICTED)
    ]
    return {
        "train": [
            write_iob(tmp_path / "train_1.tsv", TRAIN_1),
            write_iob(tmp_path / "train_2.tsv", TRAIN_2),
        ],
        "test": write_iob(tmp_path / "test.tsv", TEST),
        "predicted_iob": write_iob(tmp_path / "predicted.tsv", predicted),
    }


def spec(files: dict, name: str = "toy", **kwargs) -> DatasetSpec:
    source = {} if "archive" in kwargs else {"predictions": files["predicted_iob"]}
    return DatasetSpec(name=name, train=files["train"], test=files["test"], **{**source, **kwargs})


def test_the_five_ratios_and_the_regions_match_the_hand_computation(files):
    analysis = analyze([spec(files)])["toy"]
    assert analysis.sizes == {"T": 5, "L": 5, "P": 4}
    assert analysis.regions == EXPECTED_REGIONS
    assert analysis.ratios == pytest.approx(EXPECTED_RATIOS)
    assert analysis.fractions["over_prediction"] == (-1, 5)
    assert analysis.undefined == {}
    assert analysis.examples["T_L_only"] == ["asthma", "gout"]


def test_without_case_folding_strings_differing_in_case_are_different(files):
    analysis = analyze([spec(files)], normalisation=["none"])["toy"]
    # L = {BREAST CANCER, breast cancer, gout, flu, Asthma, malaria}: |L| = 6; T has
    # "Breast cancer" and "asthma", so T ∩ L = {gout}: coverage = 1/6.
    assert analysis.sizes["L"] == 6
    assert analysis.ratios["coverage"] == pytest.approx(1 / 6)
    # P = {BREAST CANCER, flu, and, breast cancer, Diabetes mellitus}: |P| = 5;
    # over-prediction = (5 - 6) / 6.
    assert analysis.ratios["over_prediction"] == pytest.approx(-1 / 6)


def test_hyphen_normalisation_joins_differently_tokenised_strings(tmp_path):
    train = write_iob(
        tmp_path / "train.tsv",
        [[("Non", "B-D"), ("-", "I-D"), ("small", "I-D"), ("cell", "I-D"), ("x", "O")]],
    )
    test = write_iob(tmp_path / "test.tsv", [[("Non-small", "B-D"), ("cell", "I-D")]])
    dataset = DatasetSpec(name="h", train=[train], test=test, predictions=test)
    # "non - small cell" (T) vs "non-small cell" (L): coverage 0/1 by default, 1/1 with hyphen.
    assert analyze([dataset])["h"].ratios["coverage"] == 0.0
    assert analyze([dataset], normalisation=["case", "hyphen"])["h"].ratios["coverage"] == 1.0


def test_normalise_entity():
    assert normalise_entity("Breast  Cancer ") == "breast cancer"  # whitespace, case-folding
    assert normalise_entity("STRASSE", ["case"]) == normalise_entity("straße", ["case"])
    assert normalise_entity("Breast Cancer", ["none"]) == "Breast Cancer"
    assert normalise_entity("IL - 2 ‐ R", ["hyphen"]) == "IL-2‐R"  # U+2010 too
    assert normalise_entity("ﬁbrosis Ｂ", ["nfkc"]) == "fibrosis B"  # ligature, full width
    with pytest.raises(ValueError, match="Unknown normalisation"):
        normalise_entity("x", ["lower"])


def test_entity_strings_reads_bioul_and_filters_types():
    sentences = [(["a", "b", "c", "d"], ["B-X", "L-X", "O", "U-Y"])]
    assert entity_strings(sentences, "BIOUL") == {"a b", "d"}
    assert entity_strings(sentences, "BIOUL", types={"Y"}) == {"d"}


def test_zero_denominators_give_null_and_say_why(tmp_path):
    train = write_iob(tmp_path / "train.tsv", [[("flu", "B-D"), ("x", "O")]])
    # The test set has no entity at all: L = {}; the prediction "flu" is a false positive.
    test = write_iob(tmp_path / "test.tsv", [[("flu", "O"), ("y", "O")]])
    predicted = write_iob(tmp_path / "pred.tsv", [[("flu", "B-D"), ("y", "O")]])
    dataset = DatasetSpec(name="empty", train=[train], test=test, predictions=predicted)
    analysis = analyze([dataset])["empty"]
    # |L| = 0: coverage and over-prediction divide by 0; C_T ∩ L = T ∩ L = {}: so do
    # generalisation and forgetting. conflict = |C_L ∩ P ∩ T| / |C_L ∩ P| = |{flu}| / 1 = 1.
    assert analysis.ratios == {
        "generalisation": None,
        "coverage": None,
        "forgetting": None,
        "conflict": 1.0,
        "over_prediction": None,
    }
    assert set(analysis.undefined) == {
        "generalisation",
        "coverage",
        "forgetting",
        "over_prediction",
    }
    assert "|L| = 0" in analysis.undefined["coverage"]
    table = format_table({"empty": analysis})
    assert "n/a (0/0)" in table and "coverage: n/a because the test set has no entity" in table
    assert json.loads(json.dumps(results_json({"empty": analysis}, [dataset], ["case"])))[
        "datasets"
    ]["empty"]["ratios"]["coverage"] is None
    # Gold as predictions: no false positive, so conflict is undefined.
    assert analyse_sets({"a"}, {"a", "b"}, {"a", "b"}).ratios["conflict"] is None


def evaluate_style_lines(files: dict, batch_size: int) -> List[str]:
    """Predictions as `allennlp evaluate --predictions-output-file` writes them: one JSON object
    per batch, instances of two tasks mixed and reordered."""
    records = [
        {"task": "toy", "words": words_of(sentence), "tags": tags, "tag_probs": [1.0] * len(tags)}
        for sentence, tags in zip(TEST, PREDICTED)
    ] + [{"task": "other", "words": ["flu"], "tags": ["O"]}]
    random.Random(0).shuffle(records)
    lines = []
    for start in range(0, len(records), batch_size):
        batch = records[start : start + batch_size]
        keys = ("task", "words", "tags")
        lines.append(json.dumps({key: [record[key] for record in batch] for key in keys}))
    return lines


def test_evaluate_json_lines_in_batches_or_per_sentence_give_the_same_analysis(files, tmp_path):
    batches = tmp_path / "batches.jsonl"
    batches.write_text("\n".join(evaluate_style_lines(files, batch_size=3)) + "\n")
    per_sentence = tmp_path / "sentences.jsonl"
    per_sentence.write_text(
        "".join(
            json.dumps({"words": words_of(s), "tags": t}) + "\n" for s, t in zip(TEST, PREDICTED)
        )
    )
    # The data set is named like its task, so the records of "other" are left out.
    for path in (batches, per_sentence):
        analysis = analyze([spec(files, predictions=str(path))])["toy"]
        assert analysis.ratios == pytest.approx(EXPECTED_RATIOS)
    with pytest.raises(ConfigurationError, match="tasks other, toy: say which"):
        analyze([spec(files, name="renamed", predictions=str(batches))])
    assert analyze([spec(files, name="renamed", predictions=str(batches), task="toy")])


def test_predictions_of_other_sentences_are_refused(files, tmp_path):
    wrong = write_iob(tmp_path / "wrong.tsv", [[("flu", "B-D")]])
    with pytest.raises(ConfigurationError, match="3 test sentence.*no prediction.*1 predicted"):
        analyze([spec(files, predictions=wrong)])


def test_spec_file_errors(files, tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"datasets": [{"train": files["train"], "test": "t", "x": 1}]}))
    with pytest.raises(ConfigurationError, match="unknown key"):
        load_spec(str(path))
    both = {"train": files["train"], "test": "t", "predictions": "p", "archive": "a"}
    path.write_text(json.dumps({"datasets": [both]}))
    with pytest.raises(ConfigurationError, match="exactly one of predictions"):
        load_spec(str(path))


def test_plots_are_written_including_negative_and_undefined_ratios(tmp_path):
    analyses = {
        "neg": analyse_sets({"a", "b"}, {"a", "c", "d"}, {"a"}),  # over-prediction -2/3
        "n/a conflict": analyse_sets({"a"}, {"a", "b"}, {"a", "b"}),
        "empty": analyse_sets(set(), set(), set()),
    }
    paths = write_plots(analyses, tmp_path / "plots")
    names = sorted(path.name for path in paths)
    assert names == ["euler_empty.png", "euler_n_a_conflict.png", "euler_neg.png", "radar.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


@pytest.fixture(scope="module")
def mtl_xc_run(tmp_path_factory) -> Path:
    """The MTL-XC fixture model (tasks disease_a and disease_b), trained once for this module."""
    run = tmp_path_factory.mktemp("analyze") / "mtl_xc"
    run_allennlp(["train", "training_config/fixtures/mtl_xc.jsonnet", "-s", str(run)], ONE_THREAD)
    return run


def test_cli_on_a_fixture_model_archive_agrees_with_evaluate_predictions(mtl_xc_run, tmp_path):
    archive = str(mtl_xc_run / "model.tar.gz")
    tasks = ["disease_a", "disease_b"]
    train = [f"fixtures/data/{task}/train.tsv" for task in tasks]
    predictions = tmp_path / "predictions.jsonl"
    run_allennlp(
        [
            "evaluate",
            archive,
            json.dumps({task: f"fixtures/data/{task}/test.tsv" for task in tasks}),
            "--predictions-output-file",
            str(predictions),
        ],
        ONE_THREAD,
    )
    datasets = [
        {"name": task, "test": f"fixtures/data/{task}/test.tsv", "archive": archive}
        for task in tasks
    ] + [
        {
            "name": "disease_b (evaluate)",
            "test": "fixtures/data/disease_b/test.tsv",
            "predictions": str(predictions),
            "task": "disease_b",
        }
    ]
    # A Jsonnet spec whose data sets share one training-file list (a Jsonnet local).
    spec_file = tmp_path / "spec.jsonnet"
    entries = ",\n".join(json.dumps({**d, "train": "@train"}) for d in datasets)
    spec_file.write_text(
        f"local train = {json.dumps(train)};\n{{datasets: [\n{entries}\n]}}\n".replace(
            '"@train"', "train"
        )
    )
    output = tmp_path / "analysis.json"
    plots = tmp_path / "plots"
    result = run_allennlp(
        [
            "bioner-analyze",
            "--spec",
            str(spec_file),
            "--output-json",
            str(output),
            "--plots",
            str(plots),
            "--include-package",
            "hsl_bioner.commands",
        ],
        ONE_THREAD,
    )
    assert "generalisation" in result.stdout and "disease_b (evaluate)" in result.stdout
    datasets = json.loads(output.read_text())["datasets"]
    # The archive predicts exactly what `allennlp evaluate` predicted.
    assert datasets["disease_b"]["regions"] == datasets["disease_b (evaluate)"]["regions"]
    for task in tasks:
        assert datasets[task]["sizes"]["T"] > datasets[task]["sizes"]["L"] > 0
        for value in datasets[task]["ratios"].values():
            assert value is None or -1.0 <= value <= 10.0
    pictures = sorted(path.name for path in plots.iterdir())
    assert pictures == [
        "euler_disease_a.png",
        "euler_disease_b.png",
        "euler_disease_b_evaluate.png",
        "radar.png",
    ]
    assert all((plots / name).stat().st_size > 5000 for name in pictures)
