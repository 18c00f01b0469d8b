"""The three commands of the contract, run as a user runs them: `allennlp train / evaluate /
predict` in a subprocess on the fixture chain STL -> MTL-XC -> MTL-LS."""

import json
import subprocess
import sys

from tests.conftest import ROOT, run_allennlp


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


# --- no nltk download errors: the environment `make venv` builds has no allennlp-models ---

# This venv may hold allennlp-models for the benchmarks' peer (the "peer" extra); these tests run
# `allennlp` as it runs where allennlp-models is not installed: importing it raises
# ModuleNotFoundError, which AllenNLP's default-plugin loader skips silently.
WITHOUT_ALLENNLP_MODELS = (
    "import sys; sys.modules['allennlp_models'] = None; sys.argv[0] = 'allennlp'; "
    "from allennlp.__main__ import run; run()"
)


def _installed_requirements(requirements, extras=()):
    """Names of the distributions that installing `requirements` pulls in, as far as this venv
    has them (each installed one's own requirements are followed)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen, todo = set(), [(Requirement(r), tuple(extras)) for r in requirements]
    while todo:
        requirement, wanted = todo.pop()
        if requirement.marker and not any(
            requirement.marker.evaluate({"extra": extra}) for extra in wanted or ("",)
        ):
            continue
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [(Requirement(r), tuple(requirement.extras)) for r in requires]
    return seen


def test_the_set_up_does_not_install_allennlp_models(tmp_path):
    # What `make venv` installs: setup.py's requirements with the "dev" extra.
    subprocess.run(
        [sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    sections, current = {"": []}, ""
    for line in (tmp_path / "hsl_bioner.egg-info" / "requires.txt").read_text().splitlines():
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = []
        elif line.strip():
            sections[current].append(line.strip())
    installed = _installed_requirements(sections[""] + sections["dev"])
    assert "allennlp" in installed and "torch" in installed  # the walk follows requirements
    assert "allennlp-models" not in installed
    assert sections["peer"] == ["allennlp-models==2.10.1"]


def _allennlp_without_allennlp_models(args):
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_ALLENNLP_MODELS, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_commands_print_no_nltk_download_errors_but_real_errors(fixture_runs, tmp_path):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    inputs = tmp_path / "docs.txt"
    inputs.write_text("Patients with colorectal cancer.\n", encoding="utf-8")
    commands = {
        "train": [
            "train",
            "training_config/fixtures/stl.jsonnet",
            "-s",
            str(tmp_path / "stl"),
            "-o",
            '{"trainer.num_epochs": 1}',
        ],
        "evaluate": ["evaluate", archive, "disease_a=fixtures/data/disease_a/test.tsv"],
        "predict": ["predict", archive, str(inputs), "--predictor", "bioner", "--silent"]
        + ["--output-file", str(tmp_path / "out.jsonl")],
        "bioner-tag": ["bioner-tag", archive, str(inputs), "--no-progress"],
    }
    for name, args in commands.items():
        result = _allennlp_without_allennlp_models(args)
        assert result.returncode == 0, f"{name}: {result.stderr[-3000:]}"
        assert "[nltk_data]" not in result.stderr + result.stdout, name
    assert (tmp_path / "stl" / "model.tar.gz").is_file()
    # Real errors still reach the user.
    missing = _allennlp_without_allennlp_models(["bioner-tag", archive, "no/such/file.txt"])
    assert missing.returncode != 0
    assert "cannot read no/such/file.txt: No such file or directory" in missing.stderr
    missing = _allennlp_without_allennlp_models(["predict", "no/such/model.tar.gz", str(inputs)])
    assert missing.returncode != 0 and "no/such/model.tar.gz" in missing.stderr
