"""CI's check that exported folders tag alike in the runtime's own environment: Python 3.12 with
the runtime's dependencies only (`.venv-runtime`, made by `make venv`; no torch, transformers or
AllenNLP). The fixture archives (tiny XLNet and tiny BERT, STL and MTL-LS) are exported here, the
runtime's `bioner-tag` in that environment tags fixtures/raw/abstracts.txt, and its entities must
be the torch predictor's.

`make test` points HSL_BIONER_RUNTIME_PYTHON at that environment's python; without it the test
skips. The subprocess runs this checkout's runtime (PYTHONPATH), whichever one is installed."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from allennlp.predictors import Predictor

from hsl_bioner.export import export_archive
from tests.conftest import FIXTURES, ROOT, assert_same_entities

RUNTIME_PYTHON_SETTING = "HSL_BIONER_RUNTIME_PYTHON"
ABSTRACTS = FIXTURES / "raw" / "abstracts.txt"


@pytest.fixture(scope="module")
def runtime_python() -> str:
    python = os.environ.get(RUNTIME_PYTHON_SETTING)
    if not python:
        pytest.skip(
            f"{RUNTIME_PYTHON_SETTING} is not set: point it at the python of the runtime's own "
            "environment (`make venv` builds .venv-runtime; `make test` sets it) to run this test"
        )
    if not Path(python).is_file():
        pytest.fail(f"{RUNTIME_PYTHON_SETTING}={python}: no such interpreter")
    return python


def _run(python: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "runtime")}
    return subprocess.run(
        [python, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_runtime_environment_has_no_training_stack(runtime_python):
    program = (
        "import importlib.util, sys, hsl_bioner_runtime\n"
        "print(sys.version_info[:2] >= (3, 12), hsl_bioner_runtime.__file__)\n"
        "print([m for m in ('torch', 'transformers', 'allennlp') if importlib.util.find_spec(m)])"
    )
    result = _run(runtime_python, "-c", program)
    assert result.returncode == 0, result.stderr
    newest, location = result.stdout.splitlines()[0].split(" ", 1)
    assert newest == "True", f"{runtime_python} is not Python 3.12 or newer"
    assert Path(location).is_relative_to(ROOT / "runtime")  # this checkout's runtime
    assert result.stdout.splitlines()[1] == "[]"


@pytest.mark.parametrize("name", ["xlnet_stl", "xlnet_mtl_ls", "bert_stl", "bert_mtl_ls"])
def test_the_runtime_tags_as_the_torch_predictor(runtime_python, fixture_archives, name, tmp_path):
    archive = str(fixture_archives[name])
    folder = export_archive(archive, str(tmp_path / "exported"))
    output = tmp_path / "entities.jsonl"
    result = _run(
        runtime_python,
        "-m",
        "hsl_bioner_runtime.cli",
        str(folder),
        str(ABSTRACTS),
        "--output-file",
        str(output),
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr[-4000:]
    found = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    lines = ABSTRACTS.read_text(encoding="utf-8").splitlines()
    expected = Predictor.from_path(archive, "bioner").predict_batch_json(
        [{"text": line} for line in lines]
    )
    if name.startswith("xlnet"):
        # Not vacuous: these find entities. (The tiny BERT runs train one epoch and may find none
        # in these texts; their tags, all of them, are still compared one for one.)
        assert any(record["entities"] for record in expected)
    assert_same_entities(expected, found)
