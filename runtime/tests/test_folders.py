"""The test folder builder makes folders that `load_folder` accepts and whose graphs compute what
`reference_emissions` says."""

import numpy
import onnxruntime
import pytest
from folders import make_folder, reference_emissions

from hsl_bioner_runtime.folder import load_folder


def test_the_session_folder_is_a_valid_export(tiny_folder):
    model = load_folder(tiny_folder)
    assert model.tasks == ("disease_a", "disease_b", "chem_a")
    assert model.group_of_task == {task: task for task in model.tasks}
    assert model.crfs["chem_a"].tags == ("O", "B-Chemical", "I-Chemical")
    assert model.encoder["family"] == "bert" and model.max_length == 512


@pytest.mark.parametrize("shared_layers, num_layers", [(0, 1), (1, 3), (2, 2)])
def test_graphs_compute_the_reference(tmp_path, shared_layers, num_layers):
    folder = make_folder(
        tmp_path / "f",
        tasks={"a": ["Disease"], "b": ["Chemical", "Gene"]},
        groups={"g": ["a", "b"]},
        shared_layers=shared_layers,
        num_layers=num_layers,
        family="xlnet",
        label_encoding="BIOUL",
    )
    model = load_folder(folder)
    assert model.crfs["g"].num_tags == 1 + 3 * 4
    random = numpy.random.default_rng(1)
    ids = random.integers(0, 500, (3, 7))
    mask = numpy.ones((3, 7), numpy.int64)
    mask[1, 4:] = 0
    types = random.integers(0, 3, (3, 7))
    shared = onnxruntime.InferenceSession(str(model.shared_graph))
    (hidden,) = shared.run(
        None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    )
    group = onnxruntime.InferenceSession(str(model.group_graphs["g"]))
    (emissions,) = group.run(
        None, {"hidden": hidden, "attention_mask": mask, "token_type_ids": types}
    )
    assert emissions.shape == (3, 7, 13)
    expected = reference_emissions(folder, "g", ids, mask, types)
    numpy.testing.assert_allclose(emissions, expected, rtol=1e-4, atol=1e-4)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="every task"):
        make_folder(tmp_path / "a", tasks={"a": ["X"]}, groups={"g": ["b"]})
    with pytest.raises(ValueError, match="family"):
        make_folder(tmp_path / "b", family="gpt")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x").write_text("")
    with pytest.raises(ValueError, match="not empty"):
        make_folder(tmp_path / "c")
