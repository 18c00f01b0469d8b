import itertools

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.testing import ModelTestCase
from allennlp.data import DataLoader, DatasetReader, Vocabulary
from allennlp.models import Model

import hsl_bioner  # noqa: F401  (registers the plugin)
from hsl_bioner_runtime.tag_schemes import validate_tags
from tests.conftest import FIXTURE_CONFIGS


def _load(config: str):
    params = Params.from_file(str(FIXTURE_CONFIGS / config))
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    loader = DataLoader.from_params(
        params.pop("data_loader"), reader=reader, data_path=params.pop("train_data_path")
    )
    vocab = Vocabulary.from_instances(loader.iter_instances())
    loader.index_with(vocab)
    model = Model.from_params(params=params.pop("model"), vocab=vocab)
    return model, loader


class TestHierarchicalSharedTagger(ModelTestCase):
    def test_mtl_xc_can_train_save_and_load(self):
        self.ensure_model_can_train_save_and_load(
            FIXTURE_CONFIGS / "mtl_xc.jsonnet",
            # XLNet's mask embedding only serves pre-training.
            gradients_to_ignore={"embedder.transformer_model.base.mask_emb"},
        )


def test_heads_upper_stacks_and_metrics_are_keyed_by_task():
    model, loader = _load("mtl_xc.jsonnet")
    assert model.groups == ["disease"]
    model, loader = _load("stl.jsonnet")
    batch = next(iter(loader))
    output = model(**batch)
    assert output["loss"].item() > 0
    metrics = model.get_metrics(reset=True)
    assert {"disease_a_precision", "disease_a_recall", "disease_a_f1", "f1"} <= set(metrics)


def test_mixed_batches_route_each_instance_to_its_task():
    # MTL-LS layout (2 of 4 layers shared, a head per task) without the archive initialisation.
    params = Params.from_file(
        str(FIXTURE_CONFIGS / "mtl_ls.jsonnet"), ext_vars={"HSL_BIONER_MTL_XC_ARCHIVE": "unused"}
    )
    params["model"].pop("initializer")
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    loader = DataLoader.from_params(
        params.pop("data_loader"), reader=reader, data_path=params.pop("train_data_path")
    )
    vocab = Vocabulary.from_instances(loader.iter_instances())
    loader.index_with(vocab)
    model = Model.from_params(params=params.pop("model"), vocab=vocab).eval()
    batch = next(b for b in loader if len(set(b["task"])) == 2)
    before = model.make_output_human_readable(model(**batch))
    with torch.no_grad():
        for parameter in itertools.chain(
            model.heads["disease_b"].parameters(),
            model.embedder.split.upper_stacks["disease_b"].parameters(),
        ):
            parameter.add_(torch.randn_like(parameter))
    after = model.make_output_human_readable(model(**batch))
    for task, tags_before, tags_after, probs_before, probs_after in zip(
        before["task"], before["tags"], after["tags"], before["tag_probs"], after["tag_probs"]
    ):
        if task == "disease_a":
            assert tags_before == tags_after and probs_before == pytest.approx(probs_after)
    assert any(
        p1 != pytest.approx(p2)
        for t, p1, p2 in zip(before["task"], before["tag_probs"], after["tag_probs"])
        if t == "disease_b"
    )


def test_decoding_never_yields_a_forbidden_transition():
    model, loader = _load("stl.jsonnet")
    model.eval()
    head = model.heads["disease_a"]
    with torch.no_grad():  # make forbidden paths attractive: only the constraints stand in the way
        head.crf.transitions.normal_(0, 5)
        head.projection.weight.normal_(0, 5)
    for batch in loader:
        output = model.make_output_human_readable(model(**batch))
        for tags in output["tags"]:
            validate_tags(tags, "BIO")  # raises on e.g. O followed by I-Disease


def test_marginals_are_probabilities_and_agree_with_viterbi():
    model, loader = _load("stl.jsonnet")
    model.eval()
    output = model.make_output_human_readable(model(**next(iter(loader))))
    for probs in output["tag_probs"]:
        assert all(0.0 <= p <= 1.0 + 1e-6 for p in probs)


def test_unknown_tasks_and_bad_groups_are_configuration_errors():
    model, loader = _load("mtl_xc.jsonnet")
    batch = next(iter(loader))
    batch["task"] = ["nope"] * len(batch["task"])
    with pytest.raises(ConfigurationError, match="Unknown task"):
        model(**batch)
    params = Params.from_file(str(FIXTURE_CONFIGS / "mtl_xc.jsonnet"))
    params["model"]["groups"] = {"disease": ["disease_a", "disease_z"]}
    with pytest.raises(ConfigurationError, match="disease_z"):
        Model.from_params(params=params.pop("model"), vocab=model.vocab)


def test_missing_label_namespace_says_what_to_change():
    params = Params.from_file(str(FIXTURE_CONFIGS / "stl.jsonnet"))
    with pytest.raises(ConfigurationError, match="label_namespace: 'disease_a_labels'"):
        Model.from_params(params=params.pop("model"), vocab=Vocabulary())

