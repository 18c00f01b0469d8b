"""`analyze` on files: types kept, a type that occurs nowhere refused, training files read once."""
from pathlib import Path

import pytest
from allennlp.common.checks import ConfigurationError

from hsl_bioner.analysis import run
from hsl_bioner.analysis.run import analyze
from hsl_bioner.analysis.spec import DatasetSpec


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture()
def files(tmp_path) -> dict:
    return {
        "train": write(
            tmp_path / "train.tsv",
            "aspirin\tB-Chemical\nand\tO\nflu\tB-Disease\n\ngout\tB-Disease\n",
        ),
        "test": write(tmp_path / "test.tsv", "aspirin\tB-Chemical\ncures\tO\nflu\tB-Disease\n"),
        "predicted": write(tmp_path / "pred.tsv", "aspirin\tO\ncures\tO\nflu\tB-Disease\n"),
    }


def spec(files: dict, **kwargs) -> DatasetSpec:
    return DatasetSpec(
        name="d", train=[files["train"]], test=files["test"], predictions=files["predicted"],
        **kwargs,
    )  # fmt: skip


def test_types_keep_only_those_gold_entities_in_t_and_l(files):
    everything = analyze([spec(files)])["d"]
    assert everything.sizes == {"T": 3, "L": 2, "P": 1}
    diseases = analyze([spec(files, types=["Disease"])])["d"]
    assert diseases.sizes == {"T": 2, "L": 1, "P": 1}  # predictions are never filtered
    assert diseases.ratios["coverage"] == 1.0


def test_a_type_that_occurs_in_no_gold_file_is_an_error_naming_the_types_there(files):
    # Before: every ratio n/a, exit 0, no warning.
    with pytest.raises(ConfigurationError) as error:
        analyze([spec(files, types=["Chemicals"])])
    message = str(error.value)
    assert "'d'" in message and "Chemicals" in message and files["test"] in message
    assert "the entity types there are: Chemical, Disease" in message
    # One absent type among present ones is refused too, naming only the absent one.
    with pytest.raises(ConfigurationError, match="type\\(s\\) Gene in "):
        analyze([spec(files, types=["Disease", "Gene"])])


def test_types_of_a_data_set_without_any_entity(tmp_path, files):
    empty = write(tmp_path / "empty.tsv", "aspirin\tO\ncures\tO\nflu\tO\n")
    dataset = DatasetSpec(name="e", train=[empty], test=empty, predictions=empty, types=["D"])
    with pytest.raises(ConfigurationError, match="types there are: none \\(no entity at all\\)"):
        analyze([dataset])


def test_training_files_shared_by_data_sets_are_read_once(files, monkeypatch):
    reads = []
    real = run.read_tagged

    def counting(path, scheme):
        reads.append(path)
        return real(path, scheme)

    monkeypatch.setattr(run, "read_tagged", counting)
    analyze([spec(files), DatasetSpec(
        name="e", train=[files["train"]], test=files["test"], predictions=files["predicted"]
    )])  # fmt: skip
    assert reads.count(files["train"]) == 1 and reads.count(files["test"]) == 2
