import json
import subprocess
import sys

from allennlp.predictors import Predictor

from tests.conftest import ROOT, run_allennlp


def test_one_record_per_input_line_in_every_format(fixture_runs, tmp_path):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    inputs = tmp_path / "docs.txt"
    inputs.write_text(
        "Patients with colorectal cancer were treated.\n"
        "\n"
        "   \n"
        + json.dumps({"id": "PMID9", "text": "Alzheimer's disease and breast cancer."})
        + "\n",
        encoding="utf-8",
    )
    output = tmp_path / "out.jsonl"
    run_allennlp(["bioner-tag", archive, str(inputs), "--output-file", str(output)])
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 4  # blank lines keep their place
    assert records[1]["entities"] == [] and records[3]["id"] == "PMID9"
    for record in records:
        for entity in record["entities"]:
            assert record["text"][entity["start"] : entity["end"]] == entity["text"]

    pubtator = tmp_path / "out.pubtator"
    run_allennlp(
        [
            "bioner-tag",
            archive,
            str(inputs),
            "--output-file",
            str(pubtator),
            "--format",
            "pubtator",
            "--tasks",
            "disease_a",
            "--no-progress",
        ]
    )
    assert "PMID9|t|Alzheimer's disease and breast cancer." in pubtator.read_text(encoding="utf-8")


def test_a_bad_line_is_reported_with_its_file_and_line(fixture_runs, tmp_path):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    inputs = tmp_path / "docs.txt"
    inputs.write_text('Fine text.\n{"id": 3, "text": \n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "allennlp", "bioner-tag", archive, str(inputs), "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert f"{inputs}:2: Invalid JSON input line" in result.stderr


def test_int8_prediction_agrees_with_fp32_on_most_tokens(fixture_runs):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    fp32 = Predictor.from_path(archive, "bioner")
    int8 = Predictor.from_path(archive, "bioner", int8=True)
    assert (
        int8._model.embedder.split.upper_stacks["disease_a"]["2"].ff.layer_1.__class__.__name__
        == "Linear"
    )
    assert (
        "quantized"
        in type(int8._model.embedder.split.upper_stacks["disease_a"]["2"].ff.layer_1).__module__
    )
    same = total = 0
    for line in open(ROOT / "fixtures" / "raw" / "abstracts.txt", encoding="utf-8"):
        a, b = fp32.predict(line), int8.predict(line)
        assert [s["tokens"] for s in a["sentences"]] == [s["tokens"] for s in b["sentences"]]
        for sa, sb in zip(a["sentences"], b["sentences"]):
            for task in sa["tags"]:
                same += sum(x == y for x, y in zip(sa["tags"][task], sb["tags"][task]))
                total += len(sa["tags"][task])
        for entity in b["entities"]:
            assert b["text"][entity["start"] : entity["end"]] == entity["text"]
    # Quantisation changes scores slightly; on the tiny fixture model nearly all tags agree.
    assert same / total >= 0.95, f"int8 agreed with fp32 on {same}/{total} tags"
