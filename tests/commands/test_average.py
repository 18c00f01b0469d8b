"""The paper's schedule as options: `allennlp bioner-average` (mean weights of the last N
checkpoints) and continuing a finished run for more epochs (a `bioner_from_archive` initializer on
every parameter, added with `-o`), on the fixture STL config (3 epochs, a few seconds)."""

import json
import subprocess
import sys
import tarfile

import pytest
import torch
from allennlp.common.checks import ConfigurationError

from hsl_bioner.commands.average import average_checkpoints, find_checkpoints
from tests.conftest import ROOT, run_allennlp

STL = "training_config/fixtures/stl.jsonnet"
TEST_FILE = "fixtures/data/disease_a/test.tsv"


@pytest.fixture(scope="module")
def stl_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("average") / "stl"
    run_allennlp(["train", STL, "-s", str(run)])
    return run


def _archived_weights(archive, tmp_path):
    with tarfile.open(archive) as tar:
        tar.extract("weights.th", tmp_path)
    return torch.load(tmp_path / "weights.th")


def continue_from(archive: str) -> dict:
    """The `-o` overrides that start a new run from every weight of a finished run's archive."""
    return {
        "model.initializer": {
            "regexes": [[".*", {"type": "bioner_from_archive", "archive_file": archive}]]
        },
        "vocabulary": {"type": "from_files", "directory": archive},
    }


def test_checkpoints_are_found_in_training_order(stl_run):
    names = [path.name for path in find_checkpoints(stl_run)]
    assert names == ["model_state_e1_b0.th", "model_state_e2_b0.th", "model_state_e3_b0.th"]


def test_the_average_of_the_last_checkpoints_is_their_mean_and_evaluates(stl_run, tmp_path):
    output = tmp_path / "model_avg.tar.gz"
    result = run_allennlp(["bioner-average", str(stl_run), "--last", "2", "--output", str(output)])
    assert "model_state_e2_b0.th, model_state_e3_b0.th" in result.stdout

    states = [torch.load(stl_run / f"model_state_e{e}_b0.th") for e in (2, 3)]
    averaged = _archived_weights(output, tmp_path)
    assert averaged.keys() == states[1].keys()
    floats = [name for name, tensor in averaged.items() if torch.is_floating_point(tensor)]
    assert "heads.disease_a.crf.transitions" in floats
    for name in floats:
        assert torch.allclose(averaged[name], (states[0][name] + states[1][name]) / 2, atol=1e-7)
    # The average is a new model, not one of the two checkpoints.
    name = "heads.disease_a.projection.weight"
    assert not torch.equal(averaged[name], states[1][name])

    metrics = tmp_path / "metrics.json"
    run_allennlp(["evaluate", str(output), TEST_FILE, "--output-file", str(metrics)])
    assert 0.0 <= json.loads(metrics.read_text())["disease_a_f1"] <= 1.0


def test_averaging_one_checkpoint_gives_that_checkpoint(stl_run, tmp_path):
    output = tmp_path / "last.tar.gz"
    assert [p.name for p in average_checkpoints(stl_run, 1, output)] == ["model_state_e3_b0.th"]
    newest = torch.load(stl_run / "model_state_e3_b0.th")
    weights = _archived_weights(output, tmp_path)
    assert all(torch.equal(weights[name], newest[name]) for name in newest)


def test_too_few_checkpoints_is_a_clear_error(stl_run, tmp_path):
    with pytest.raises(ConfigurationError, match="fewer than --last 9"):
        average_checkpoints(stl_run, 9, tmp_path / "x.tar.gz")
    with pytest.raises(ConfigurationError, match="at least 1"):
        average_checkpoints(stl_run, 0, tmp_path / "x.tar.gz")
    with pytest.raises(ConfigurationError, match="not a directory"):
        average_checkpoints(tmp_path / "missing", 1, tmp_path / "x.tar.gz")


def test_continuing_a_finished_run_starts_from_all_of_its_weights(stl_run, tmp_path):
    # With learning rates 0 the continued model must stay exactly the finished one: every
    # parameter (the CRF included) came from the archive, and the vocabulary is the same.
    archive = str(stl_run / "model.tar.gz")
    continued = tmp_path / "continued"
    overrides = {
        **continue_from(archive),
        "trainer.num_epochs": 1,
        "trainer.optimizer.lr": 0.0,
        "trainer.optimizer.head_lr": 0.0,
    }
    run_allennlp(["train", STL, "-s", str(continued), "-o", json.dumps(overrides)])
    source = torch.load(stl_run / "best.th")
    after = torch.load(continued / "best.th")
    assert source.keys() == after.keys()
    assert all(torch.equal(source[name], after[name]) for name in source)
    before_metrics = json.loads((stl_run / "metrics.json").read_text())
    after_metrics = json.loads((continued / "metrics.json").read_text())
    assert (
        after_metrics["validation_disease_a_f1"] == before_metrics["best_validation_disease_a_f1"]
    )


def test_recover_cannot_extend_a_finished_run(stl_run):
    # Why continuing is a new run: `allennlp train -r` resumes an interrupted run and refuses a
    # configuration that differs from the saved one (here: more epochs).
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "allennlp",
            "train",
            STL,
            "-s",
            str(stl_run),
            "-r",
            "-o",
            json.dumps({"trainer.num_epochs": 5}),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "does not match the configuration we're recovering from" in result.stderr
