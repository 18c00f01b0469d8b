import pytest
import torch

from hsl_bioner.modules.quantization import quantize_split_transformer
from hsl_bioner.modules.split_transformer import SplitTransformer
from tests.conftest import TINY_BERT, TINY_XLNET


def _is_quantized(module) -> bool:
    return "quantized" in type(module).__module__


@pytest.mark.parametrize("encoder", [TINY_XLNET, TINY_BERT])
def test_every_stack_is_quantised_except_the_first_two_and_last_layers(encoder):
    split = SplitTransformer(encoder, upper_stacks=["a", "b"], shared_layers=2).eval()
    token_ids = torch.randint(5, 200, (3, 12))
    mask = torch.ones(3, 12, dtype=torch.bool)
    routes = {"a": torch.tensor([0, 2]), "b": torch.tensor([1])}
    before = torch.cat(list(split(token_ids, mask, None, routes).values()))
    count = quantize_split_transformer(split)
    # float and quantised Linear modules alike are called "Linear"
    linears = {n: m for n, m in split.named_modules() if type(m).__name__ == "Linear"}
    for name, module in linears.items():
        layer = int(name.split(".")[1 if name.startswith("lower") else 2])
        assert _is_quantized(module) == (layer not in (0, 1, 3)), name
    assert count == sum(_is_quantized(m) for m in linears.values()) > 0
    after = torch.cat(list(split(token_ids, mask, None, routes).values()))
    assert torch.nn.functional.cosine_similarity(before.flatten(), after.flatten(), dim=0) > 0.99
    # The embeddings stay fp32.
    assert split.get_input_embeddings().weight.dtype == torch.float32


def test_chosen_layers_stay_fp32():
    split = SplitTransformer(TINY_BERT, upper_stacks=["a"], shared_layers=4)
    quantize_split_transformer(split, fp32_layers=[-1])
    assert _is_quantized(split.lower_layers[0].attention.self.query)
    assert not _is_quantized(split.lower_layers[3].attention.self.query)
