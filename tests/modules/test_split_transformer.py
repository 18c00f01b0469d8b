import re

import pytest
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import Token, Vocabulary
from transformers import AutoModel

from hsl_bioner.data.piece_indexer import PieceIndexer
from hsl_bioner.modules.split_embedder import SplitTransformerEmbedder
from hsl_bioner.modules.split_transformer import (
    EMBEDDINGS_REGEX,
    SplitTransformer,
    is_shared_parameter,
    layer_index,
    layer_regex,
    resolve_shared_layers,
)
from tests.conftest import TINY_BERT, TINY_XLNET

ENCODERS = [TINY_XLNET, TINY_BERT]


def _route(split, token_ids, mask, type_ids, row_stacks):
    """Hidden states of every row in batch order, row b through stack row_stacks[b]."""
    rows = {}
    for row, stack in enumerate(row_stacks):
        rows.setdefault(stack, []).append(row)
    hidden = split(token_ids, mask, type_ids, {s: torch.tensor(r) for s, r in rows.items()})
    out = torch.empty(token_ids.shape + (split.config.hidden_size,))
    for stack, stack_rows in rows.items():
        out[stack_rows] = hidden[stack]
    return out


def _batch(seed: int = 0):
    torch.manual_seed(seed)
    token_ids = torch.randint(10, 300, (3, 11))
    mask = torch.ones(3, 11, dtype=torch.bool)
    mask[1, 7:] = False
    type_ids = torch.zeros(3, 11, dtype=torch.long)
    return token_ids, mask, type_ids


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("shared", [4, 2, 0])
def test_split_encoder_equals_unsplit_model(encoder, shared):
    reference = AutoModel.from_pretrained(encoder).eval()
    split = SplitTransformer(encoder, upper_stacks=["a", "b"], shared_layers=shared).eval()
    token_ids, mask, type_ids = _batch()
    expected = reference(
        input_ids=token_ids, attention_mask=mask.float(), token_type_ids=type_ids
    ).last_hidden_state
    actual = _route(split, token_ids, mask, type_ids, ["a", "b", "a"])
    assert torch.allclose(actual[mask], expected[mask], atol=1e-5)
    # Every row through every stack (what the predictor asks for), in one call.
    both = split(token_ids, mask, type_ids, {"a": None, "b": None})
    for stack in ("a", "b"):
        assert torch.allclose(both[stack][mask], expected[mask], atol=1e-5)


@pytest.mark.parametrize("encoder", ENCODERS)
def test_rows_only_see_their_own_upper_stack(encoder):
    split = SplitTransformer(encoder, upper_stacks=["a", "b"], shared_layers=2).eval()
    token_ids, mask, type_ids = _batch()
    before = _route(split, token_ids, mask, type_ids, ["a", "b", "a"])
    with torch.no_grad():
        for parameter in split.upper_stacks["b"].parameters():
            parameter.add_(0.3)
    after = _route(split, token_ids, mask, type_ids, ["a", "b", "a"])
    assert torch.equal(before[[0, 2]], after[[0, 2]])
    assert not torch.allclose(before[1], after[1])
    # A row's output does not depend on which other rows share its batch.
    alone = split(token_ids[:1], mask[:1], type_ids[:1], {"a": None})["a"]
    assert torch.allclose(alone[0], after[0], atol=1e-5)


def test_upper_stacks_start_from_pretrained_weights_and_are_independent_copies():
    reference = AutoModel.from_pretrained(TINY_XLNET)
    split = SplitTransformer(TINY_XLNET, upper_stacks=["a", "b"], shared_layers=1)
    expected = reference.layer[3].ff.layer_1.weight
    assert torch.equal(split.upper_stacks["a"]["3"].ff.layer_1.weight, expected)
    copy_a, copy_b = split.upper_stacks["a"]["3"], split.upper_stacks["b"]["3"]
    assert copy_a.ff.layer_1.weight is not copy_b.ff.layer_1.weight
    names = [name for name, _ in split.named_parameters()]
    assert not [name for name in names if "upper_stacks" in name and "word_embedding" in name]
    assert len(split.lower_layers) == 1 and sorted(split.upper_stacks["a"]) == ["1", "2", "3"]


def test_shared_layer_count_from_rate_or_count():
    assert resolve_shared_layers(24, None, 0.5) == 12
    assert resolve_shared_layers(24, None, 0.25) == 6
    assert resolve_shared_layers(6, None, 1.0) == 6
    assert resolve_shared_layers(6, 0, None) == 0
    assert resolve_shared_layers(6, None, None) == 6
    with pytest.raises(ConfigurationError, match="not a whole number"):
        resolve_shared_layers(6, None, 0.25)
    with pytest.raises(ConfigurationError, match=r"\[0, 6\]"):
        resolve_shared_layers(6, 7, None)
    with pytest.raises(ConfigurationError, match="not both"):
        resolve_shared_layers(6, 3, 0.5)


def test_routing_errors_are_clear():
    split = SplitTransformer(TINY_XLNET, upper_stacks=["a", "b"], shared_layers=2)
    token_ids, mask, type_ids = _batch()
    with pytest.raises(ConfigurationError, match="No upper stack named c"):
        split(token_ids, mask, type_ids, {"a": torch.tensor([0, 2]), "c": torch.tensor([1])})
    for name in ("a.b", "", "base", "lower_layers", "upper_stacks"):
        with pytest.raises(ConfigurationError, match="Invalid stack"):
            SplitTransformer(TINY_XLNET, upper_stacks=[name], shared_layers=2)


def _indexed(words, max_length):
    indexer = PieceIndexer(TINY_XLNET, max_length=max_length)
    tokens = [Token(w) for w in words]
    indexed = indexer.tokens_to_indices(tokens, Vocabulary())
    lengths = indexer.get_padding_lengths(indexed)
    tensors = indexer.as_padded_tensor_dict(indexed, lengths)
    return {key: value.unsqueeze(0) for key, value in tensors.items()}


def test_long_sentences_fold_into_segments_and_keep_a_vector_per_word():
    # XLNet puts its special tokens at the END of every segment; check that unfolding puts each
    # word's first piece back in place: words of the first segment get exactly the vectors of a
    # run over that segment alone.
    words = ("Mutations in p53 predispose to familial adenomatous polyposis ( FAP ) . " * 6).split()
    embedder = SplitTransformerEmbedder(TINY_XLNET, upper_stacks=["a"], max_length=16).eval()
    inputs = _indexed(words, max_length=16)
    assert inputs["token_ids"].size(1) > 16  # really folded
    vectors = embedder(**inputs, rows_of_stack={"a": None})["a"]
    assert vectors.shape[:2] == (1, len(words))
    assert (vectors.abs().sum(-1) > 0).all()  # every word got a vector

    first_segment = inputs["token_ids"][:, :16]
    alone = embedder.split(
        first_segment, torch.ones_like(first_segment, dtype=torch.bool), None, {"a": None}
    )["a"]
    starts = inputs["first_piece"][0]
    in_first = starts < 14  # 16 minus <sep> <cls>
    assert in_first.sum() >= 3
    assert torch.allclose(vectors[0, in_first], alone[0, starts[in_first]], atol=1e-5)


def test_parameter_names_say_their_layer_and_whether_they_are_shared():
    split = SplitTransformer(TINY_XLNET, upper_stacks=["a", "b"], shared_layers=2)
    names = [name for name, _ in split.named_parameters()]
    for relative in names + ["heads.a.projection.weight", "heads.b.crf.transitions"]:
        for name in (relative, "embedder.transformer_model." + relative):
            parts = relative.split(".")
            expected_layer = (
                int(parts[1])
                if parts[0] == "lower_layers"
                else int(parts[2])
                if parts[0] == "upper_stacks"
                else None
            )
            assert layer_index(name) == expected_layer, name
            assert is_shared_parameter(name) == (parts[0] in ("base", "lower_layers")), name
            assert bool(re.search(EMBEDDINGS_REGEX, name)) == (parts[0] == "base"), name
            for layer in range(4):
                assert bool(re.search(layer_regex(layer), name)) == (expected_layer == layer)
    assert {layer_index(name) for name in names} == {None, 0, 1, 2, 3}
