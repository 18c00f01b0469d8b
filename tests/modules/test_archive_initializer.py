"""MTL-LS initialisation: shared layers from MTL-XC, upper layers pre-trained, CRFs new."""

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.models import Model, load_archive
from transformers import AutoModel

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
