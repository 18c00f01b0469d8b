import collections

import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader, Vocabulary
from allennlp.data.data_loaders.multitask_epoch_sampler import UniformSampler

from hsl_bioner.data.mixed_task_loader import (
    MixedTaskDataLoader,
    TemperatureSampler,
    parse_data_paths,
)
from tests.conftest import FIXTURE_CONFIGS

PATHS = {
    "disease_a": "fixtures/data/disease_a/train.tsv",
    "disease_b": "fixtures/data/disease_b/train.tsv",
}


def _reader():
    params = Params.from_file(str(FIXTURE_CONFIGS / "mtl_xc.jsonnet"))
    return DatasetReader.from_params(params.pop("dataset_reader"))


def _loader(**kwargs) -> MixedTaskDataLoader:
    loader = MixedTaskDataLoader(_reader(), kwargs.pop("data_path", PATHS), **kwargs)
    loader.index_with(Vocabulary.from_instances(loader.iter_instances()))
    return loader


def test_an_epoch_holds_every_instance_once_in_batches_that_mix_tasks():
    loader = _loader(batch_size=8)
    seen = collections.Counter()
    mixed = 0
    batches = list(loader)
    for batch in batches:
        seen.update(batch["task"])
        mixed += len(set(batch["task"])) > 1
    assert seen == {"disease_a": 80, "disease_b": 80}
    assert len(batches) == len(loader) == 20
    assert mixed > 0


def test_length_bucketing_keeps_padding_low():
    def padding(loader):
        total = real = 0
        for batch in loader:
            mask = batch["tokens"]["tokens"]["wordpiece_mask"]
            total += mask.numel()
            real += mask.sum().item()
        return 1 - real / total

    assert padding(_loader(batch_size=8, padding_noise=0.0)) < 0.1


def test_a_piece_budget_bounds_every_batch():
    loader = _loader(batch_size=32, max_pieces=200)
    for batch in loader:
        pieces = batch["tokens"]["tokens"]["token_ids"]
        assert pieces.numel() <= 200 or pieces.size(0) == 1


def test_samplers_set_the_mix_of_an_epoch():
    uniform = _loader(
        data_path={
            "disease_a": PATHS["disease_a"],
            "disease_b": "fixtures/data/disease_b/devel.tsv",
        },
        sampler=UniformSampler(),
        instances_per_epoch=100,
    )
    counts = collections.Counter(task for batch in uniform for task in batch["task"])
    assert counts == {"disease_a": 50, "disease_b": 50}
    proportions = TemperatureSampler(2.0).get_task_proportions({"a": [0] * 100, "b": [0] * 25})
    assert proportions["a"] == pytest.approx(10 / 15) and proportions["b"] == pytest.approx(5 / 15)


def test_data_paths_from_dicts_and_task_prefixed_strings():
    tasks = ["disease_a", "disease_b"]
    assert parse_data_paths({"disease_a": "x.tsv"}, tasks) == {"disease_a": "x.tsv"}
    assert parse_data_paths("disease_b=y.tsv", tasks) == {"disease_b": "y.tsv"}
    assert parse_data_paths("disease_a=x.tsv,disease_b=y.tsv", tasks) == {
        "disease_a": "x.tsv",
        "disease_b": "y.tsv",
    }
    assert parse_data_paths("only.tsv", ["solo"]) == {"solo": "only.tsv"}
    with pytest.raises(ConfigurationError, match="Write TASK=PATH"):
        parse_data_paths("which.tsv", tasks)
    with pytest.raises(ConfigurationError, match="No reader for task"):
        parse_data_paths({"disease_z": "z.tsv"}, tasks)


def test_a_task_file_without_sentences_is_an_error(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n\n")
    loader = MixedTaskDataLoader(_reader(), {"disease_a": str(empty)})
    with pytest.raises(ValueError, match="empty.tsv"):
        list(loader.iter_instances())


def test_a_tag_training_never_saw_names_the_sentence_and_the_fix(tmp_path):
    trained = _loader()
    unseen = tmp_path / "test.tsv"
    unseen.write_text("Aspirin\tB-Chemical\nworks\tO\n")
    loader = MixedTaskDataLoader(_reader(), {"disease_a": str(unseen)})
    loader.index_with(trained._vocab)
    expected = r"test.tsv:1: task 'disease_a' .*B-Chemical.*type_map"
    with pytest.raises(ConfigurationError, match=expected):
        list(loader)


def test_absent_files_are_all_named_before_anything_is_read(tmp_path):
    (tmp_path / "half").mkdir()
    paths = {
        "disease_a": str(tmp_path / "half" / "train.tsv"),
        "disease_b": str(tmp_path / "gone" / "train.tsv"),
    }
    with pytest.raises(ConfigurationError) as error:
        MixedTaskDataLoader(_reader(), paths, missing_data_help="Use X={present} instead.")
    message = str(error.value)
    assert "Data files absent for 2 of the 2 task(s); nothing was read:" in message
    assert f"disease_a: {paths['disease_a']} (folder {tmp_path / 'half'} has no train.tsv)" in (
        message
    )
    assert f"disease_b: {paths['disease_b']} (no folder gone in {tmp_path})" in message
    assert "Present:" not in message and message.endswith("Use X= instead.")
    with pytest.raises(ConfigurationError) as error:
        MixedTaskDataLoader(
            _reader(),
            {"disease_a": PATHS["disease_a"], "disease_b": paths["disease_b"]},
            missing_data_help="Use X={present} instead.",
        )
    assert "1 of the 2" in str(error.value)
    assert str(error.value).endswith("Present: disease_a.\nUse X=disease_a instead.")
