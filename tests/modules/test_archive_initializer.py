"""MTL-LS initialisation: shared layers from MTL-XC, upper layers pre-trained, CRFs new."""

import gzip
import io
import tarfile

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.models import Model, load_archive
from allennlp.nn.initializers import Initializer
from transformers import AutoModel

from hsl_bioner.modules.archive_initializer import ArchiveInitializer
from tests.conftest import FIXTURE_CONFIGS, TINY_XLNET


def _per_task_vocab(vocab):
    # MTL-XC has one head ("disease"); MTL-LS one per task, over the same unified labels.
    labels = list(vocab.get_token_to_index_vocabulary("disease_labels"))
    for task in ("disease_a", "disease_b"):
        vocab.add_tokens_to_namespace(labels, f"{task}_labels")
    return vocab


def _mtl_ls_model(archive: str, vocab, **embedder):
    params = Params.from_file(
        str(FIXTURE_CONFIGS / "mtl_ls.jsonnet"), ext_vars={"HSL_BIONER_MTL_XC_ARCHIVE": archive}
    )
    params["model"]["embedder"].update(embedder)
    return Model.from_params(params=params.pop("model"), vocab=vocab)


def test_mtl_ls_copies_mtl_xc_lower_layers_and_pretrained_upper_layers(fixture_runs):
    archive = str(fixture_runs["mtl_xc"] / "model.tar.gz")
    xc = load_archive(archive).model
    xc_weights = dict(xc.named_parameters())
    pretrained = AutoModel.from_pretrained(TINY_XLNET)
    ls = _mtl_ls_model(archive, _per_task_vocab(xc.vocab))
    split = ls.embedder.split
    assert split.shared_layers == 2

    checked = 0
    for name, parameter in ls.named_parameters():
        if ".lower_layers." in name or ".base." in name:
            assert torch.equal(parameter, xc_weights[name]), name
            checked += 1
    assert checked > 10
    # Fine-tuning moved the MTL-XC weights away from the pre-trained ones, so the copy is real.
    assert not torch.equal(
        split.lower_layers[0].ff.layer_1.weight, pretrained.layer[0].ff.layer_1.weight
    )
    for stack in ("disease_a", "disease_b"):
        for layer in (2, 3):
            ours = split.upper_stacks[stack][str(layer)].ff.layer_1.weight
            assert torch.equal(ours, pretrained.layer[layer].ff.layer_1.weight)
            assert not torch.equal(
                ours,
                xc_weights[f"embedder.transformer_model.lower_layers.{layer}.ff.layer_1.weight"],
            )
    # CRFs are new: their transitions are not MTL-XC's.
    assert not torch.equal(
        ls.heads["disease_a"].crf.transitions, xc.heads["disease"].crf.transitions
    )


def test_an_archive_of_another_encoder_is_refused(fixture_runs):
    archive = str(fixture_runs["mtl_xc"] / "model.tar.gz")
    vocab = _per_task_vocab(load_archive(archive).model.vocab)
    params = Params.from_file(
        str(FIXTURE_CONFIGS / "mtl_ls.jsonnet"), ext_vars={"HSL_BIONER_MTL_XC_ARCHIVE": archive}
    )
    params["model"]["initializer"]["regexes"][0][1]["encoder"] = "fixtures/tiny_bert"
    with pytest.raises(ConfigurationError, match="trained with encoder 'fixtures/tiny_xlnet'"):
        Model.from_params(params=params.pop("model"), vocab=vocab)


def test_a_missing_archive_says_what_to_do(fixture_runs, tmp_path):
    vocab = _per_task_vocab(load_archive(str(fixture_runs["mtl_xc"] / "model.tar.gz")).model.vocab)
    with pytest.raises(ConfigurationError, match="Cannot read model archive"):
        _mtl_ls_model(str(tmp_path / "missing.tar.gz"), vocab)


def _tar(path, members):
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    "make, problem",
    [
        (lambda d: d / "missing.tar.gz", "the file does not exist"),
        (lambda d: d, "it is a directory"),
        (lambda d: _write(d / "empty.tar.gz", b""), "the file is empty"),
        # The report: a text file gave "UnpicklingError: unpickling stack underflow".
        (lambda d: _write(d / "notes.tar.gz", b"0\n"), "not a tar archive, and not a torch"),
        (lambda d: _write(d / "x.gz", gzip.compress(b"x")), "a gzip file but not a tar archive"),
        (
            lambda d: _tar(d / "config_only.tar.gz", {"config.json": b"{}"}),
            "a tar archive without model weights (weights.th), so not one written by `allennlp "
            "train` (it holds config.json)",
        ),
        (
            lambda d: _write(d / "cut.tar.gz", _tar(d / "whole.tar.gz", {
                "weights.th": bytes(200_000), "config.json": b"{}"
            }).read_bytes()[:2000]),
            "a damaged or truncated tar archive",
        ),  # fmt: skip
        (lambda d: _saved(d / "list.th", [1, 2]), "it holds a list, not a model's weights"),
    ],
)
def test_a_file_that_is_not_a_model_archive_is_named_with_what_it_should_be(
    tmp_path, make, problem
):
    path = make(tmp_path)
    # Through the registered name, as a config builds it.
    params = Params({"type": "bioner_from_archive", "archive_file": str(path)})
    with pytest.raises(ConfigurationError) as error:
        Initializer.from_params(params)
    message = str(error.value)
    assert message.startswith(f"Cannot read model archive {path}: {problem}")
    assert "Give the model.tar.gz that `allennlp train` wrote" in message


def test_a_weights_file_of_a_serialization_directory_is_read(tmp_path):
    path = _saved(tmp_path / "best.th", {"layer.weight": torch.ones(2)})
    initializer = ArchiveInitializer(str(path))
    tensor = torch.zeros(2)
    initializer(tensor, "layer.weight")
    assert torch.equal(tensor, torch.ones(2))


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _saved(path, value):
    torch.save(value, path)
    return path
