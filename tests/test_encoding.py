"""`allennlp` commands read and write UTF-8 under an ASCII locale (`hsl_bioner.encoding`)."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

TEXT = "Caf\u00e9 patients with colorectal cancer and \u03b2-thalassaemia (5 \u00b5g)."


def _ascii_locale_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env.pop("PYTHONIOENCODING", None)
    return {**env, "LC_ALL": "C", "PYTHONUTF8": "0"}


def _run(args, **kwargs):
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=_ascii_locale_env(),
        capture_output=True,
        timeout=300,
        **kwargs,
    )


def test_the_environment_is_really_ascii_and_a_library_import_keeps_its_locale():
    code = "import locale, hsl_bioner; print(locale.getpreferredencoding(False))"
    result = _run(["-c", code])
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() in {"ANSI_X3.4-1968", "US-ASCII", "ascii"}


def test_predict_writes_utf8_to_a_file_and_to_stdout_under_an_ascii_locale(fixture_runs, tmp_path):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    inputs = tmp_path / "docs.txt"
    inputs.write_text(TEXT + "\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    to_file = _run(
        ["-m", "allennlp", "predict", archive, str(inputs), "--predictor", "bioner"]
        + ["--silent", "--output-file", str(output)]
    )
    assert to_file.returncode == 0, to_file.stderr.decode()[-3000:]
    record = json.loads(output.read_bytes().decode("utf-8"))
    assert record["text"] == TEXT
    for entity in record["entities"]:
        assert record["text"][entity["start"] : entity["end"]] == entity["text"]

    to_stdout = _run(["-m", "allennlp", "predict", archive, str(inputs), "--predictor", "bioner"])
    assert to_stdout.returncode == 0, to_stdout.stderr.decode()[-3000:]
    predictions = [
        line for line in to_stdout.stdout.decode("utf-8").splitlines() if line.startswith("pred")
    ]
    assert json.loads(predictions[0].split(" ", 1)[1])["text"] == TEXT
    assert TEXT.encode("utf-8") in to_stdout.stdout  # written as UTF-8, not escaped


def test_bioner_tag_writes_utf8_to_stdout_under_an_ascii_locale(fixture_runs, tmp_path):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    inputs = tmp_path / "docs.txt"
    inputs.write_text(TEXT + "\n", encoding="utf-8")
    result = _run(["-m", "allennlp", "bioner-tag", archive, str(inputs), "--no-progress"])
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert json.loads(result.stdout.decode("utf-8"))["text"] == TEXT
