import random

import pytest
from allennlp.data import Token, Vocabulary
from allennlp.data.token_indexers import PretrainedTransformerMismatchedIndexer

from hsl_bioner.data.fast_mismatched_indexer import FastMismatchedIndexer
from hsl_bioner.data.iob_reader import read_iob_sentences
from tests.conftest import FIXTURES, ROOT, TINY_BERT, TINY_XLNET

ODD_WORDS = ["\u200b", "α-Syn", "µg", "IL-2", "(", "Na+/K+-ATPase", "x" * 300, "ü", "1,250", "’s"]


def _sentences():
    for path in sorted((FIXTURES / "data").glob("*/test.tsv")):
        yield from (s.words for s in read_iob_sentences(str(path)))
    rng = random.Random(0)
    for _ in range(30):
        yield [rng.choice(ODD_WORDS) for _ in range(rng.randint(1, 12))]


MINILM = ROOT / "models" / "all-MiniLM-L6-v2"


@pytest.mark.parametrize("encoder", [TINY_XLNET, TINY_BERT, str(MINILM)])
@pytest.mark.parametrize("max_length", [None, 16])
def test_same_indices_as_allennlps_indexer(encoder, max_length):
    if encoder == str(MINILM) and not MINILM.is_dir():
        pytest.skip(f"the pre-trained MiniLM is not prepared at {MINILM} (make minilm)")
    ours = FastMismatchedIndexer(encoder, max_length=max_length)
    allennlp = PretrainedTransformerMismatchedIndexer(encoder, max_length=max_length)
    assert ours._allennlp_tokenizer.tokenizer.is_fast
    for words in _sentences():
        tokens = [Token(w) for w in words]
        assert ours.tokens_to_indices(tokens, Vocabulary()) == allennlp.tokens_to_indices(
            tokens, Vocabulary()
        ), words
