"""Shared test settings: fixture locations, the real-corpus setting, running the allennlp CLI."""
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from allennlp.common import Params

import hsl_bioner  # noqa: F401  (registers the plugin with AllenNLP, as --include-package does)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TINY_XLNET = str(FIXTURES / "tiny_xlnet")
TINY_BERT = str(FIXTURES / "tiny_bert")
FIXTURE_CONFIGS = ROOT / "training_config" / "fixtures"

# Real corpora (CC BY 4.0) are never copied into the repository; tests that need them read this
# folder and skip when it is absent.
DATA_SETTING = "HSL_BIONER_DATA"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "MTL-Bioinformatics-2016"


def real_data_root() -> Path:
    root = Path(os.environ.get(DATA_SETTING) or DEFAULT_DATA)
    if not root.is_absolute():
        root = (ROOT / root).resolve()
    if not root.is_dir():
        pytest.skip(
            f"real corpora not found at {root}: set {DATA_SETTING} to the folder holding "
            "MTL-Bioinformatics-2016's <corpus>-IOB folders to run this test"
        )
    return root


def run_allennlp(args: List[str], env: Optional[Dict[str, str]] = None, timeout: int = 300):
    """Runs `allennlp ARGS` from the project root in a subprocess, as a user would; fails the test
    with the command's output if it exits non-zero."""
    full_env = {**os.environ, **(env or {})}
    command = [sys.executable, "-m", "allennlp", *args]
    result = subprocess.run(
        command, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited with {result.returncode}\n--- stdout ---\n"
            f"{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


def config_with_encoder(config: Path, encoder: str, target: Path, env=None) -> Path:
    """The fixture config evaluated, with every mention of the tiny XLNet's folder replaced by
    `encoder`, one epoch, written as JSON."""
    previous = {key: os.environ.get(key) for key in env or {}}
    os.environ.update(env or {})
    try:
        params = Params.from_file(str(config)).as_dict()
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key)
            else:
                os.environ[key] = value

    def replace(value):
        if isinstance(value, dict):
            return {k: replace(v) for k, v in value.items()}
        if isinstance(value, list):
            return [replace(v) for v in value]
        return encoder if value == "fixtures/tiny_xlnet" else value

    params = replace(params)
    params["trainer"]["num_epochs"] = 1
    target.write_text(json.dumps(params))
    return target


@pytest.fixture(autouse=True)
def _run_from_project_root(monkeypatch):
    # Fixture configs and archives name paths relative to the project root.
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="session")
def fixture_runs(tmp_path_factory) -> Dict[str, Path]:
    """The paper's chain on the synthetic corpora, trained once per test session through the real
    CLI: STL, then MTL-XC, then MTL-LS initialised from the MTL-XC archive. Serialization dirs."""
    runs = tmp_path_factory.mktemp("runs")
    run_allennlp(["train", "training_config/fixtures/stl.jsonnet", "-s", str(runs / "stl")])
    run_allennlp(["train", "training_config/fixtures/mtl_xc.jsonnet", "-s", str(runs / "mtl_xc")])
    run_allennlp(
        ["train", "training_config/fixtures/mtl_ls.jsonnet", "-s", str(runs / "mtl_ls")],
        env={"HSL_BIONER_MTL_XC_ARCHIVE": str(runs / "mtl_xc" / "model.tar.gz")},
    )
    return {name: runs / name for name in ("stl", "mtl_xc", "mtl_ls")}


@pytest.fixture(scope="session")
def tiny_bert_runs(tmp_path_factory) -> Dict[str, Path]:
    """The tiny BERT's STL and MTL-LS (k = 2 of 4, one group per task, no initialisation from an
    MTL-XC archive) fixture runs, one epoch each, trained once per test session through the CLI.
    Serialization dirs."""
    runs = tmp_path_factory.mktemp("bert_runs")
    for name in ("stl", "mtl_ls"):
        env = {"HSL_BIONER_MTL_XC_ARCHIVE": "unused"}
        config = config_with_encoder(
            FIXTURE_CONFIGS / f"{name}.jsonnet", TINY_BERT, runs / f"{name}.json", env
        )
        params = json.loads(config.read_text())
        params["model"].pop("initializer", None)
        config.write_text(json.dumps(params))
        run_allennlp(["train", str(config), "-s", str(runs / name)])
    return {name: runs / name for name in ("stl", "mtl_ls")}
