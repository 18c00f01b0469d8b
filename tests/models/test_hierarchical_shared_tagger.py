import itertools
import random

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.testing import ModelTestCase
from allennlp.data import DataLoader, DatasetReader, Token, Vocabulary
from allennlp.models import Model, load_archive
from allennlp.predictors import Predictor

import hsl_bioner  # noqa: F401  (registers the plugin)
from hsl_bioner_runtime.tag_schemes import validate_tags
from hsl_bioner_runtime.tagging import tag_sentences
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



@pytest.mark.parametrize("run", ["stl", "mtl_ls"])
def test_evaluation_and_the_predictor_tag_alike(fixture_runs, run):
    # Evaluation's way (forward + make_output_human_readable on the test files' instances, the
    # tasks mixed in batches) and the predictor's (every sentence through every head) give the
    # same tags and marginals.
    archive = load_archive(str(fixture_runs[run] / "model.tar.gz"))
    model, reader = archive.model.eval(), archive.validation_dataset_reader
    instances = [
        instance
        for task in model.tasks
        for instance in reader.readers[task].read(f"fixtures/data/{task}/test.tsv")
    ]
    random.Random(0).shuffle(instances)  # mixed-task batches
    evaluated = []
    for start in range(0, len(instances), 16):
        evaluated.extend(model.forward_on_instances(instances[start : start + 16]))
    predictor = Predictor.from_archive(archive, "bioner")
    predicted = tag_sentences(
        [[Token(w) for w in i["metadata"]["words"]] for i in instances],
        predictor._tag_sentences,
        predictor.tasks,
        predictor.max_sentences_per_batch,
    )
    assert len(predicted) == len(evaluated) == len(instances) > 20
    found = 0
    for instance, evaluation, by_task in zip(instances, evaluated, predicted):
        tags, probs = by_task[instance["task"].metadata]
        assert list(evaluation["tags"]) == tags
        assert list(evaluation["tag_probs"]) == pytest.approx(probs, abs=1e-4)
        found += sum(tag != "O" for tag in tags)
    assert found > 0  # the fixture models do tag entities


def test_readers_coding_scheme_must_be_the_models_label_encoding():
    params = Params.from_file(str(FIXTURE_CONFIGS / "stl.jsonnet"))
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(["O", "B-Disease", "I-Disease", "L-Disease"], "disease_a_labels")
    with pytest.raises(ConfigurationError, match="coded in BIOUL .* label_encoding is BIO"):
        Model.from_params(params=params.duplicate().pop("model"), vocab=vocab)
    model_params = params.duplicate().pop("model")
    model_params["label_encoding"] = "BIOUL"
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(["O", "B-Disease", "I-Disease"], "disease_a_labels")
    with pytest.raises(ConfigurationError, match="coded in BIO .* label_encoding is BIOUL"):
        Model.from_params(params=model_params, vocab=vocab)
    model_params = params.duplicate().pop("model")
    model_params["label_encoding"] = "IOB1"
    with pytest.raises(ConfigurationError, match="label_encoding must be one of BIO, BIOUL"):
        Model.from_params(params=model_params, vocab=vocab)


def test_group_names_that_would_clash_with_parameter_names_are_refused():
    params = Params.from_file(str(FIXTURE_CONFIGS / "mtl_xc.jsonnet"))
    params["model"]["groups"] = {"base": ["disease_a", "disease_b"]}
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(["O", "B-Disease", "I-Disease"], "base_labels")
    with pytest.raises(ConfigurationError, match="Invalid stack \\(group\\) name 'base'"):
        Model.from_params(params=params.pop("model"), vocab=vocab)
