"""`allennlp bioner-export`: the folder, task selection, and errors without tracebacks."""
import subprocess
import sys

import pytest
from allennlp.common.checks import ConfigurationError

from hsl_bioner.export import ExportError, export_archive
from hsl_bioner_runtime.folder import load_folder
from tests.conftest import ROOT, run_allennlp


def _export(*args):
    return subprocess.run(
        [sys.executable, "-m", "allennlp", "bioner-export", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_selected_heads_are_exported(fixture_runs, tmp_path):
    archive = fixture_runs["mtl_ls"] / "model.tar.gz"
    out = tmp_path / "out"
    result = run_allennlp(["bioner-export", str(archive), str(out), "--tasks", "disease_b"])
    assert f"to {out}" in result.stdout
    exported = load_folder(out)
    assert exported.tasks == ("disease_b",)
    assert sorted(p.name for p in out.iterdir()) == [
        "crf.npz", "group.disease_b.onnx", "manifest.json", "shared.onnx", "tagger.json",
        "tokenizer.json",
    ]
    assert exported.manifest["source_archive"]["path"] == str(archive)
    # --force replaces a folder that holds files; nothing of the old one is left.
    (out / "stale.txt").write_text("old")
    export_archive(str(archive), str(out), force=True)
    assert not (out / "stale.txt").exists()
    assert load_folder(out).tasks == ("disease_a", "disease_b")


def test_bad_arguments_are_named_without_a_traceback(fixture_runs, tmp_path):
    archive = fixture_runs["stl"] / "model.tar.gz"
    full = tmp_path / "full"
    full.mkdir()
    (full / "file").write_text("x")
    result = _export(archive, full)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "is not empty: give another folder, or --force" in result.stderr
    not_an_archive = tmp_path / "notes.tar.gz"
    not_an_archive.write_text("not a tar file")
    for source, message in [
        (tmp_path / "absent.tar.gz", "absent.tar.gz: no such file"),
        (not_an_archive, "notes.tar.gz: not a readable model archive"),
        (fixture_runs["stl"] / "config.json", "config.json: not a readable model archive"),
    ]:
        with pytest.raises(ExportError, match=message):
            export_archive(str(source), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_an_unknown_task_is_refused_and_leaves_nothing(fixture_runs, tmp_path):
    archive = str(fixture_runs["stl"] / "model.tar.gz")
    with pytest.raises(ConfigurationError, match="Unknown task.*disease_z.*model has disease_a"):
        export_archive(archive, str(tmp_path / "o"), tasks=["disease_z"])
    assert list(tmp_path.iterdir()) == []
