import collections
import json

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


def test_an_unseen_tag_is_reported_at_its_own_line(tmp_path):
    trained = _loader()
    unseen = tmp_path / "unseen_type.tsv"
    # Line 1 starts the first sentence; the unseen tag is on line 3. The second sentence, after
    # a -DOCSTART- line and two blank lines, has one on line 9.
    unseen.write_text(
        "Patients\tO\nwith\tO\nAspirin\tB-Chemical\n\n-DOCSTART-\tO\n\n\ncancer\tB-Disease\n"
        "ibuprofen\tB-Chemical\n"
    )
    loader = MixedTaskDataLoader(_reader(), {"disease_a": str(unseen)})
    loader.index_with(trained._vocab)
    with pytest.raises(ConfigurationError, match=r"unseen_type\.tsv:3: .*'B-Chemical' on the "
                       r"word 'Aspirin'"):
        list(loader)
    second = tmp_path / "second.tsv"
    second.write_text("-DOCSTART-\tO\n\nfine\tO\n\n\ncancer\tB-Disease\nibuprofen\tB-Chemical\n")
    loader = MixedTaskDataLoader(_reader(), {"disease_a": str(second)})
    loader.index_with(trained._vocab)
    with pytest.raises(ConfigurationError, match=r"second\.tsv:7: .*'ibuprofen'"):
        list(loader)


def _as_allennlp_evaluate_passes(input_file: str) -> list:
    """The data paths `allennlp evaluate` (2.10) builds a data loader for from its input_file
    argument: a JSON list when `[input_file]` parses, else the pieces between commas."""
    try:
        return json.loads(f"[{input_file}]")
    except json.JSONDecodeError:
        return input_file.split(",")


@pytest.mark.parametrize(
    "input_file, expected",
    [
        # An unknown task name: no more "e.g. disease_a=NCBI-disease=/data/test.tsv".
        (
            "NCBI-disease=/data/test.tsv",
            "This model has no task 'NCBI-disease' (in 'NCBI-disease=/data/test.tsv'); its "
            "tasks are disease_a, disease_b. Write TASK=PATH, e.g. disease_a=/data/test.tsv, or "
            "a JSON object, e.g. '{\"disease_a\": \"/data/test.tsv\", \"disease_b\": \"PATH\"}'.",
        ),
        # Broken JSON (a missing closing brace), which allennlp cuts at its comma.
        (
            '{"disease_a": "a.tsv", "disease_b": "b.tsv"',
            "'{\"disease_a\": \"a.tsv\"' is not valid JSON (allennlp evaluate cuts input that is "
            "not valid JSON at its commas): this model has tasks disease_a, disease_b. Write "
            "TASK=PATH, e.g. disease_a=PATH, or a JSON object, e.g. "
            "'{\"disease_a\": \"PATH\", \"disease_b\": \"PATH\"}'.",
        ),
        # A plain path for a multi-task model.
        (
            "fixtures/data/disease_b/test.tsv",
            "Cannot tell which task 'fixtures/data/disease_b/test.tsv' belongs to: this model "
            "has tasks disease_a, disease_b. Write TASK=PATH, e.g. "
            "disease_a=fixtures/data/disease_b/test.tsv, or a JSON object, e.g. "
            "'{\"disease_a\": \"fixtures/data/disease_b/test.tsv\", \"disease_b\": \"PATH\"}'.",
        ),
    ],
)
def test_bad_evaluate_data_paths_say_which_tasks_the_model_has(input_file, expected):
    data_path = _as_allennlp_evaluate_passes(input_file)[0]
    assert isinstance(data_path, str)
    with pytest.raises(ConfigurationError) as error:
        MixedTaskDataLoader(_reader(), data_path)
    assert str(error.value) == expected


def test_every_piece_of_cut_json_is_refused_and_valid_json_is_a_dict():
    for piece in _as_allennlp_evaluate_passes('{"disease_a": "a.tsv", "disease_b": "b.tsv"'):
        with pytest.raises(ConfigurationError, match="is not valid JSON"):
            parse_data_paths(piece, ["disease_a", "disease_b"])
    with pytest.raises(ConfigurationError, match="is not valid JSON"):
        parse_data_paths('{"solo": "a.tsv"', ["solo"])
    (valid,) = _as_allennlp_evaluate_passes('{"disease_a": "a.tsv"}')
    assert parse_data_paths(valid, ["disease_a", "disease_b"]) == {"disease_a": "a.tsv"}
    with pytest.raises(ConfigurationError, match="the readers are for disease_a, disease_b"):
        parse_data_paths({"NCBI-disease": "a.tsv"}, ["disease_a", "disease_b"])


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
