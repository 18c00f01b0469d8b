"""Tests of the AllenNLP wrapper "bioner_text" (hsl_bioner/data/text_tokenizer.py); the rules
themselves are tested with the core, in runtime/tests/test_text.py."""
import pytest
from allennlp.common import Params
from allennlp.data.tokenizers import Token, Tokenizer

from hsl_bioner.data.text_tokenizer import BioTextTokenizer
from hsl_bioner_runtime.text import TextTokenizer


def test_registered_and_constructible_from_params():
    tokenizer = Tokenizer.from_params(Params({"type": "bioner_text", "max_token_chars": 20}))
    assert isinstance(tokenizer, BioTextTokenizer)
    assert tokenizer.text_tokenizer.max_token_chars == 20
    again = Tokenizer.from_params(Params(tokenizer._to_params()))
    assert again._to_params() == tokenizer._to_params()
    with pytest.raises(ValueError):
        BioTextTokenizer(max_token_chars=0)


def test_allennlp_tokens_carry_the_core_offsets():
    text = "  Na+/K+-ATPase\u00a0(p53)\n\nlone \ud800 colorectal cancer. Next one."
    settings = {"max_token_chars": 4, "max_sentence_tokens": 5, "newline_is_sentence_break": True}
    wrapper, core = BioTextTokenizer(**settings), TextTokenizer(**settings)
    tokens = wrapper.tokenize(text)
    assert all(isinstance(t, Token) for t in tokens)
    assert [(t.text, t.idx, t.idx_end) for t in tokens] == [tuple(t) for t in core.tokenize(text)]
    assert [[(t.text, t.idx, t.idx_end) for t in s] for s in wrapper.tokenize_sentences(text)] == [
        [tuple(t) for t in s] for s in core.tokenize_sentences(text)
    ]
    assert wrapper.split_sentences(text) == core.split_sentences(text)
    assert wrapper._to_params() == {"type": "bioner_text", **core.settings()}
