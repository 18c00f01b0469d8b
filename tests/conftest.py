"""Shared test settings: fixture locations, the real-corpus setting, running the allennlp CLI."""
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest

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
