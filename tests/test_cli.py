"""The three commands of the contract, run as a user runs them: `allennlp train / evaluate /
predict` in a subprocess on the fixture chain STL -> MTL-XC -> MTL-LS."""

import json

from tests.conftest import run_allennlp


def test_training_writes_per_task_metrics(fixture_runs):
    for name, tasks in [("stl", ["disease_a"]), ("mtl_xc", ["disease_a", "disease_b"])]:
        metrics = json.loads((fixture_runs[name] / "metrics.json").read_text())
        for task in tasks:
            for measure in ("precision", "recall", "f1"):
                assert 0.0 <= metrics[f"test_{task}_{measure}"] <= 1.0
        assert (fixture_runs[name] / "model.tar.gz").is_file()
    metrics = json.loads((fixture_runs["mtl_ls"] / "metrics.json").read_text())
    # The chain learns: MTL-LS starts from MTL-XC's shared layers and beats chance clearly.
    assert metrics["test_f1"] > 0.3


def test_evaluate_scores_one_dataset_against_its_own_head(fixture_runs, tmp_path):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    output = tmp_path / "metrics.json"
    run_allennlp(
        [
            "evaluate",
            archive,
            "disease_b=fixtures/data/disease_b/test.tsv",
            "--output-file",
            str(output),
        ]
    )
    metrics = json.loads(output.read_text())
    assert {"disease_b_precision", "disease_b_recall", "disease_b_f1", "f1"} <= set(metrics)
    assert not any(key.startswith("disease_a") for key in metrics)
    assert metrics["f1"] == metrics["disease_b_f1"]


def test_evaluate_reports_every_dataset_given_as_json(fixture_runs, tmp_path):
    archive = str(fixture_runs["mtl_xc"] / "model.tar.gz")
    output = tmp_path / "metrics.json"
    paths = {
        "disease_a": "fixtures/data/disease_a/test.tsv",
        "disease_b": "fixtures/data/disease_b/test.tsv",
    }
    run_allennlp(["evaluate", archive, json.dumps(paths), "--output-file", str(output)])
    metrics = json.loads(output.read_text())
    trained = json.loads((fixture_runs["mtl_xc"] / "metrics.json").read_text())
    for task in paths:
        assert abs(metrics[f"{task}_f1"] - trained[f"test_{task}_f1"]) < 1e-6


def test_predict_gives_entities_with_exact_offsets(fixture_runs, tmp_path):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    output = tmp_path / "predictions.jsonl"
    run_allennlp(
        [
            "predict",
            archive,
            "fixtures/raw/abstracts.txt",
            "--predictor",
            "bioner",
            "--output-file",
            str(output),
            "--silent",
        ]
    )
    lines = [line for line in open("fixtures/raw/abstracts.txt", encoding="utf-8") if line.strip()]
    documents = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(documents) == len(lines)
    found = 0
    for document, line in zip(documents, lines):
        assert document["text"] == line.rstrip("\n")
        for entity in document["entities"]:
            assert document["text"][entity["start"] : entity["end"]] == entity["text"]
            assert entity["type"] == "Disease" and entity["task"] in {"disease_a", "disease_b"}
            assert 0.0 <= entity["score"] <= 1.0
            found += 1
        # Every token of every sentence got a tag from every task.
        for sentence in document["sentences"]:
            for tags in sentence["tags"].values():
                assert len(tags) == len(sentence["tokens"])
    assert found > 0
