"""What each data set reads: `DatasetSpec` and spec files."""
import json

import pytest
from allennlp.common.checks import ConfigurationError

from hsl_bioner.analysis.spec import DatasetSpec, check_unique_names, default_name, load_spec


def test_dataset_spec_normalises_and_checks_its_fields():
    spec = DatasetSpec(name="x", train="t.tsv", test="y", predictions="p", types="D", scheme="iob2")
    assert spec.train == ["t.tsv"] and spec.types == ["D"] and spec.scheme == "BIO"
    with pytest.raises(ConfigurationError, match="exactly one of predictions"):
        DatasetSpec(name="x", train=["t"], test="y")
    with pytest.raises(ConfigurationError, match="at least one training file"):
        DatasetSpec(name="x", train=[], test="y", predictions="p")
    with pytest.raises(ConfigurationError, match="data set 'x': .*scheme"):
        DatasetSpec(name="x", train=["t"], test="y", predictions="p", scheme="XYZ")


def test_default_names_come_from_the_corpus_folder():
    assert default_name("data/NCBI-disease-IOB/test.tsv") == "NCBI-disease"
    assert default_name("fixtures/data/disease_a/test.tsv") == "disease_a"


def test_jsonnet_specs_with_environment_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_TEST_DIR", "corpus")
    path = tmp_path / "spec.jsonnet"
    path.write_text(
        "local train = [std.extVar('ANALYSIS_TEST_DIR') + '/train.tsv'];\n"
        "[{train: train, test: 'a/test.tsv', predictions: 'p'},"
        " {name: 'b', train: train, test: 'b/test.tsv', archive: 'm', task: 't'}]"
    )
    first, second = load_spec(str(path))
    assert first.name == "a" and first.train == ["corpus/train.tsv"]
    assert second.name == "b" and second.archive == "m" and second.task == "t"


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "not valid JSON or Jsonnet"),
        (json.dumps({"datasets": []}), "expected"),
        (json.dumps({"datasets": [1]}), "data set 1 is not an object"),
        (json.dumps([{"train": ["t"]}]), "data set 1 needs 'train' and 'test'"),
        (json.dumps([{"train": ["t"], "test": "x", "predictions": "p", "x": 1}]), "unknown key"),
        (
            json.dumps([{"name": "n", "train": ["t"], "test": "x", "predictions": "p"}] * 2),
            "data-set names used twice: n",
        ),
    ],
)
def test_spec_file_errors_name_the_file(tmp_path, content, message):
    path = tmp_path / "spec.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError) as error:
        load_spec(str(path))
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)


def test_unique_names():
    check_unique_names(["a", "b"])
    with pytest.raises(ConfigurationError, match="^Data-set names used twice: a.$"):
        check_unique_names(["a", "b", "a"])
