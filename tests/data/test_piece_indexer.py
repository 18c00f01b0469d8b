import random

import pytest
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import Token, Vocabulary
from allennlp.data.token_indexers import PretrainedTransformerMismatchedIndexer
from transformers import AutoTokenizer

from hsl_bioner.data.iob_reader import read_iob_sentences
from hsl_bioner.data.piece_indexer import PieceIndexer
from tests.conftest import FIXTURES, ROOT, TINY_BERT, TINY_XLNET

# Words that every tokenizer here turns into at least one piece ("\u200b" is one for XLNet only,
# see the pieceless-word tests below).
ODD_WORDS = ["α-Syn", "µg", "IL-2", "(", "Na+/K+-ATPase", "x" * 300, "ü", "1,250", "’s", "[CLS]"]


def _sentences():
    for path in sorted((FIXTURES / "data").glob("*/test.tsv")):
        yield from (s.words for s in read_iob_sentences(str(path)))
    rng = random.Random(0)
    for _ in range(30):
        yield [rng.choice(ODD_WORDS) for _ in range(rng.randint(1, 12))]


MINILM = ROOT / "models" / "all-MiniLM-L6-v2"
ENCODERS = [TINY_XLNET, TINY_BERT, str(MINILM)]


def _skip_missing(encoder):
    if encoder == str(MINILM) and not MINILM.is_dir():
        pytest.skip(f"the pre-trained MiniLM is not prepared at {MINILM} (make minilm)")


def _unfolded(position, indexer, max_length):
    """AllenNLP's word offsets index the pieces with one set of special tokens, ours the folded
    sequence (every segment with its own): the former position of our folded `position`."""
    if max_length is None:
        return position
    segment, column = divmod(position, max_length)
    return segment * (max_length - indexer.pieces.special_tokens.count) + column


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("max_length", [None, 16])
def test_same_indices_as_allennlps_indexer(encoder, max_length):
    _skip_missing(encoder)
    ours = PieceIndexer(encoder, max_length=max_length)
    allennlp = PretrainedTransformerMismatchedIndexer(encoder, max_length=max_length)
    for words in _sentences():
        tokens = [Token(w) for w in words]
        mine = ours.tokens_to_indices(tokens, Vocabulary())
        theirs = allennlp.tokens_to_indices(tokens, Vocabulary())
        assert mine["token_ids"] == theirs["token_ids"], words
        assert mine["type_ids"] == theirs["type_ids"], words
        assert mine["mask"] == theirs["mask"], words
        first = [_unfolded(p, ours, max_length) for p in mine["first_piece"]]
        assert first == [start for start, _ in theirs["offsets"]], words


@pytest.mark.parametrize("encoder", ENCODERS)
def test_a_word_without_pieces_gets_the_unknown_piece(encoder):
    # The one deviation from AllenNLP, which gives such a word no piece (offsets (-1, -1), a zero
    # vector) and a sentence of such words only an empty encoder input.
    _skip_missing(encoder)
    pieceless = "\U00016f51" if encoder == TINY_XLNET else "\u200b"
    unk = AutoTokenizer.from_pretrained(encoder).unk_token_id
    allennlp = PretrainedTransformerMismatchedIndexer(encoder, max_length=16)
    assert allennlp.tokens_to_indices([Token(pieceless)], Vocabulary())["token_ids"] == []

    ours = PieceIndexer(encoder, max_length=16)
    for words in ([pieceless], [pieceless, pieceless], ["cancer", pieceless, "of", "the"]):
        indexed = ours.tokens_to_indices([Token(w) for w in words], Vocabulary())
        ids = indexed["token_ids"]
        for word, position in zip(words, indexed["first_piece"]):
            if word == pieceless:
                assert ids[position] == unk
        assert len(set(indexed["first_piece"])) == len(words)
    # Ordinary words around it keep their pieces.
    around = ours.tokens_to_indices([Token(w) for w in ["cancer", pieceless, "of"]], Vocabulary())
    plain = ours.tokens_to_indices([Token(w) for w in ["cancer", "of"]], Vocabulary())
    without_unk = [i for p, i in enumerate(around["token_ids"]) if p != around["first_piece"][1]]
    assert without_unk == plain["token_ids"]


@pytest.mark.parametrize("encoder", [TINY_XLNET, TINY_BERT])
def test_lone_surrogates_are_split_as_the_replacement_character(encoder):
    ours = PieceIndexer(encoder)
    for word in ("\ud800", "\udc00\ud800", "a\udfffb"):
        replaced = word.replace("\ud800", "\ufffd").replace("\udc00", "\ufffd")
        replaced = replaced.replace("\udfff", "\ufffd")
        got = ours.tokens_to_indices([Token("lone"), Token(word)], Vocabulary())
        expected = ours.tokens_to_indices([Token("lone"), Token(replaced)], Vocabulary())
        assert got == expected


def test_padding_and_tensors():
    indexer = PieceIndexer(TINY_BERT, max_length=8)
    indexed = indexer.tokens_to_indices([Token("cancer"), Token("x" * 30)], Vocabulary())
    lengths = {key: len(value) + 2 for key, value in indexed.items()}
    tensors = indexer.as_padded_tensor_dict(indexed, lengths)
    assert tensors["token_ids"].dtype == torch.long and tensors["mask"].dtype == torch.bool
    assert tensors["mask"].tolist() == [True, True, False, False]
    assert tensors["wordpiece_mask"].sum() == len(indexed["token_ids"])
    assert tensors["token_ids"][len(indexed["token_ids"]) :].tolist() == [0, 0]


def test_max_length_must_leave_room_for_pieces():
    with pytest.raises(ConfigurationError, match="no room for pieces"):
        PieceIndexer(TINY_BERT, max_length=2)
