import pytest
from allennlp.common import Params
from allennlp.data import DataLoader, DatasetReader, Vocabulary
from allennlp.models import Model
from allennlp.training.optimizers import Optimizer

from tests.conftest import FIXTURE_CONFIGS

LR, DECAY, HEAD_LR = 1e-3, 0.5, 0.1
NUM_LAYERS = 4  # the tiny XLNet's


def _model(config: str):
    params = Params.from_file(
        str(FIXTURE_CONFIGS / config), ext_vars={"HSL_BIONER_MTL_XC_ARCHIVE": "unused"}
    )
    params["model"].pop("initializer", None)
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    loader = DataLoader.from_params(
        params.pop("data_loader"), reader=reader, data_path=params.pop("train_data_path")
    )
    vocab = Vocabulary.from_instances(loader.iter_instances())
    return Model.from_params(params=params.pop("model"), vocab=vocab)


def _expected_lr(name: str) -> float:
    parts = name.split(".")
    if parts[:2] != ["embedder", "transformer_model"]:
        return HEAD_LR
    if parts[2] == "base":
        return LR * DECAY**NUM_LAYERS
    layer = int(parts[3] if parts[2] == "lower_layers" else parts[4])
    return LR * DECAY ** (NUM_LAYERS - 1 - layer)


@pytest.mark.parametrize(
    "config, layers_per_place",
    [("stl.jsonnet", {"lower_layers": 4}), ("mtl_ls.jsonnet", {"lower_layers": 2, "upper": 2})],
)
def test_each_layer_learns_at_its_decayed_rate_and_the_heads_at_head_lr(config, layers_per_place):
    model = _model(config)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    optimizer = Optimizer.from_params(
        model_parameters=named,
        params=Params(
            {"type": "bioner_layerwise_adamw", "lr": LR, "layer_decay": DECAY, "head_lr": HEAD_LR}
        ),
    )
    lr_of = {}
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            assert id(parameter) not in lr_of  # in exactly one group
            lr_of[id(parameter)] = group["lr"]
    assert len(lr_of) == len(named)
    seen = {}
    for name, parameter in named:
        assert lr_of[id(parameter)] == pytest.approx(_expected_lr(name), rel=1e-12), name
        seen[_expected_lr(name)] = name
    # The embeddings, the four layers and the heads: six learning rates, all used.
    assert len(seen) == NUM_LAYERS + 2
    upper = {n for n, _ in named if ".upper_stacks." in n}
    if "upper" in layers_per_place:
        assert {n.split(".")[3] for n in upper} == {"disease_a", "disease_b"}
        assert {int(n.split(".")[4]) for n in upper} == {2, 3}
    else:
        assert not upper
