"""`make demo`'s script (scripts/demo.sh) end to end, so that the main job cannot rot: its whole
chain (samples, STL on each data set, MTL-XC, MTL-LS from it, allennlp evaluate, allennlp predict,
the printed report) with the tiny XLNet for one epoch, on the synthetic corpora laid out as the
demo's samples; and the sample cutter on a corpus folder."""
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, ROOT, TINY_XLNET

SAMPLES = {"NCBI-disease": "disease_a", "BC5CDR-disease": "disease_b"}


def _corpus_folder(root: Path) -> Path:
    """The synthetic disease corpora under the real data sets' folder names and entity type
    (disease_b's DISO is BC5CDR-disease's Disease)."""
    for name, fixture in SAMPLES.items():
        folder = root / f"{name}-IOB"
        folder.mkdir(parents=True)
        for split in ("train", "devel", "test"):
            text = (FIXTURES / "data" / fixture / f"{split}.tsv").read_text(encoding="utf-8")
            (folder / f"{split}.tsv").write_text(text.replace("-DISO", "-Disease"), "utf-8")
    return root


def test_demo_runs_its_whole_chain_and_prints_scores_and_entities(tmp_path):
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DEMO_DATA": str(_corpus_folder(tmp_path / "data")),
        "DEMO_ENCODER": TINY_XLNET,
        "DEMO_EPOCHS": "1",
        "DEMO_DIR": str(tmp_path / "demo"),
    }
    done = subprocess.run(
        ["bash", "scripts/demo.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for regime in ("STL", "MTL-XC", "MTL-LS"):
        assert re.search(rf"^{regime} +\d+\.\d +\d+\.\d$", out, re.MULTILINE), out
    assert "allennlp evaluate (MTL-LS): {" in out
    assert "NCBI-disease_f1" in out and "BC5CDR-disease_f1" in out
    assert "Text: Familial adenomatous polyposis (FAP)" in out
    for serialization_dir in ("stl_NCBI-disease", "stl_BC5CDR-disease", "mtl_xc", "mtl_ls"):
        assert (tmp_path / "demo" / serialization_dir / "model.tar.gz").is_file()


def test_demo_fails_clearly_without_the_corpora(tmp_path):
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "SHARED_DATA": str(tmp_path / "absent"),
        "DEMO_DIR": str(tmp_path / "demo"),
    }
    env.pop("DEMO_DATA", None)
    done = subprocess.run(
        ["bash", "scripts/demo.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert f"corpora not found: {tmp_path / 'absent'}/NCBI-disease-IOB" in done.stderr
    assert "--data-root" in done.stderr


def test_samples_are_whole_sentences_spread_over_the_file_with_their_licence(tmp_path):
    corpora = _corpus_folder(tmp_path / "corpora")
    (corpora / "LICENSE.md").write_text("CC BY 4.0\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "scripts/demo_samples.py", "--data-root", str(corpora), "--output",
         str(tmp_path / "out"), "--train", "3", "--devel", "2", "--test", "100000",
         "NCBI-disease", "BC5CDR-disease"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    source = (corpora / "NCBI-disease-IOB" / "train.tsv").read_text(encoding="utf-8")
    sample = (tmp_path / "out" / "NCBI-disease-IOB" / "train.tsv").read_text(encoding="utf-8")
    sentences = source.strip().split("\n\n")
    assert len(sentences) >= 6  # so that spreading differs from taking the first three
    spread = [sentences[i * len(sentences) // 3] for i in range(3)]
    assert sample == "\n\n".join(spread) + "\n\n"
    whole_test = (corpora / "BC5CDR-disease-IOB" / "test.tsv").read_text(encoding="utf-8")
    test_sample = (tmp_path / "out" / "BC5CDR-disease-IOB" / "test.tsv").read_text("utf-8")
    assert test_sample.split() == whole_test.split()  # fewer sentences than asked: all of them
    assert (tmp_path / "out" / "LICENSE.md").read_text(encoding="utf-8") == "CC BY 4.0\n"
    assert "CC BY 4.0" in (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "NCBI-disease train 3" in done.stdout
