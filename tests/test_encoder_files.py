"""Portable archives (issue 12 item 8): the encoder's configuration and tokenizer travel inside
``model.tar.gz``, and an archive loads from any folder with its encoder's folder gone and no
network."""

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.predictors import Predictor
from tokenizers import Tokenizer

from hsl_bioner.commands.average import average_checkpoints
from hsl_bioner.data.iob_reader import read_iob_sentences
from hsl_bioner.data.piece_indexer import PieceIndexer
from hsl_bioner.encoder_files import (
    ENCODER_FOLDER,
    check_archived,
    encoder_source,
    save_encoder_files,
)
from hsl_bioner.modules import split_transformer
from hsl_bioner.training.encoder_files import EncoderFilesCallback
from hsl_bioner_runtime.pieces import PieceEncoder
from tests.conftest import (
    FIXTURE_CONFIGS,
    FIXTURES,
    ROOT,
    TINY_BERT,
    TINY_XLNET,
    config_with_encoder,
    run_allennlp,
)

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
MINILM = ROOT / "models" / "all-MiniLM-L6-v2"
TEXT = "Mutations in APC cause familial adenomatous polyposis ( FAP ) and colorectal cancer ."


def test_the_archive_folder_wins_over_the_model_name(tmp_path):
    assert encoder_source("fixtures/tiny_xlnet", None) == ("fixtures/tiny_xlnet", False)
    assert encoder_source("fixtures/tiny_xlnet", str(tmp_path)) == ("fixtures/tiny_xlnet", False)
    save_encoder_files(TINY_XLNET, str(tmp_path))
    folder = str(tmp_path / ENCODER_FOLDER)
    assert encoder_source("fixtures/tiny_xlnet", str(tmp_path)) == (folder, True)


@pytest.mark.parametrize("encoder", [TINY_XLNET, TINY_BERT, str(MINILM)])
def test_saved_files_give_the_same_pieces_and_the_runtime_reads_them(encoder, tmp_path):
    if encoder == str(MINILM) and not MINILM.is_dir():
        pytest.skip(f"the pre-trained MiniLM is not prepared at {MINILM} (make minilm)")
    folder = Path(save_encoder_files(encoder, str(tmp_path)))
    assert {"config.json", "tokenizer.json", "tokenizer_config.json"} <= {
        p.name for p in folder.iterdir()
    }
    assert not list(folder.glob("*.bin"))  # the weights are the archive's weights.th
    original = PieceIndexer(encoder, max_length=16).pieces
    archived = PieceIndexer("no/such/folder", max_length=16, serialization_dir=str(tmp_path))
    # What the torch-free runtime loads: tokenizer.json alone.
    runtime = PieceEncoder(Tokenizer.from_file(str(folder / "tokenizer.json")), max_length=16)
    assert runtime.special_tokens == original.special_tokens
    for path in sorted((FIXTURES / "data").glob("*/test.tsv")):
        for sentence in read_iob_sentences(str(path)):
            expected = original.encode(sentence.words)
            for got in (archived.pieces.encode(sentence.words), runtime.encode(sentence.words)):
                assert got.ids.tolist() == expected.ids.tolist()
                assert got.first_piece.tolist() == expected.first_piece.tolist()


def test_the_callback_needs_the_folder_in_the_archive(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model": {}}))
    with pytest.raises(ConfigurationError, match='"include_in_archive": \\["encoder"\\]'):
        check_archived(str(tmp_path))
    with pytest.raises(ConfigurationError, match="include_in_archive"):
        EncoderFilesCallback(str(tmp_path)).on_start(trainer=None)
    (tmp_path / "config.json").write_text(json.dumps({"include_in_archive": ["encoder"]}))
    EncoderFilesCallback(str(tmp_path)).on_start(trainer=None)


def test_fixture_archives_carry_the_encoder(fixture_runs, tmp_path):
    for name in ("stl", "mtl_xc", "mtl_ls"):
        with tarfile.open(fixture_runs[name] / "model.tar.gz") as archive:
            members = set(archive.getnames())
        assert {"encoder/config.json", "encoder/tokenizer.json", "encoder/spiece.model"} <= members
    average = tmp_path / "average.tar.gz"
    average_checkpoints(fixture_runs["stl"], last=2, output=average)
    with tarfile.open(average) as archive:
        assert "encoder/tokenizer.json" in archive.getnames()


@pytest.fixture(scope="module")
def portable(tmp_path_factory):
    """STL, MTL-XC and MTL-LS trained with a COPY of the tiny XLNet that is then deleted, with
    their archives copied into an empty folder elsewhere and the training folders removed."""
    work = tmp_path_factory.mktemp("portable")
    encoder = work / "copied_tiny_xlnet"
    shutil.copytree(TINY_XLNET, encoder)
    runs = work / "runs"
    runs.mkdir()
    xc_archive = str(runs / "mtl_xc" / "model.tar.gz")
    metrics = {}
    for name in ("stl", "mtl_xc", "mtl_ls"):
        env = {"HSL_BIONER_MTL_XC_ARCHIVE": xc_archive}
        config = config_with_encoder(
            FIXTURE_CONFIGS / f"{name}.jsonnet", str(encoder), work / f"{name}.json", env
        )
        run_allennlp(["train", str(config), "-s", str(runs / name)], env=env)
        metrics[name] = json.loads((runs / name / "metrics.json").read_text())
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    for name in metrics:
        shutil.copy(runs / name / "model.tar.gz", elsewhere / f"{name}.tar.gz")
    shutil.rmtree(encoder)
    shutil.rmtree(runs)
    return elsewhere, metrics


def test_archives_load_anywhere_without_their_encoder_folder(portable, monkeypatch):
    elsewhere, _ = portable
    for key, value in OFFLINE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(elsewhere)

    def no_pretrained_weights(*args, **kwargs):
        raise AssertionError("loading read pre-trained weights")

    monkeypatch.setattr(split_transformer.AutoModel, "from_pretrained", no_pretrained_weights)
    for name, tasks in (("stl", {"disease_a"}), ("mtl_ls", {"disease_a", "disease_b"})):
        predictor = Predictor.from_path(f"{name}.tar.gz", "bioner")
        result = predictor.predict_json({"text": TEXT})
        assert set(result["sentences"][0]["tags"]) == tasks
        for tags in result["sentences"][0]["tags"].values():
            assert len(tags) == len(TEXT.split())


def _allennlp_elsewhere(args, cwd: Path):
    """`allennlp ARGS` run from `cwd` (no .allennlp_plugins there), offline."""
    env = {**os.environ, **OFFLINE}
    command = [sys.executable, "-m", "allennlp", *args, "--include-package", "hsl_bioner"]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def test_evaluate_and_predict_from_another_folder_offline(portable):
    elsewhere, metrics = portable
    test_file = str(FIXTURES / "data" / "disease_b" / "test.tsv")
    _allennlp_elsewhere(
        ["evaluate", "mtl_ls.tar.gz", f"disease_b={test_file}", "--output-file", "scores.json"],
        elsewhere,
    )
    scores = json.loads((elsewhere / "scores.json").read_text())
    # The same model: the scores of the test evaluation at the end of training.
    assert abs(scores["disease_b_f1"] - metrics["mtl_ls"]["test_disease_b_f1"]) < 1e-6

    abstracts = FIXTURES / "raw" / "abstracts.txt"
    _allennlp_elsewhere(
        ["predict", "stl.tar.gz", str(abstracts), "--predictor", "bioner", "--output-file",
         "entities.jsonl", "--silent"],
        elsewhere,
    )
    output = (elsewhere / "entities.jsonl").read_text(encoding="utf-8")
    documents = [json.loads(line) for line in output.splitlines()]
    lines = abstracts.read_text(encoding="utf-8").splitlines()
    assert len(documents) == len([line for line in lines if line.strip()])
    for document in documents:
        for entity in document["entities"]:
            assert document["text"][entity["start"] : entity["end"]] == entity["text"]
