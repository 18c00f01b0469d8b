import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from hsl_bioner_runtime.pieces import FoldLayout, PieceEncoder, SpecialTokens, piece_text

ROOT = Path(__file__).resolve().parents[2]
TOKENIZERS = {
    "xlnet": ROOT / "fixtures" / "tiny_xlnet" / "tokenizer.json",
    "bert": ROOT / "fixtures" / "tiny_bert" / "tokenizer.json",
    "minilm": ROOT / "models" / "all-MiniLM-L6-v2" / "tokenizer.json",
}
# A character each tokenizer maps to no piece at all.
PIECELESS = {"xlnet": "\U00016f51", "bert": "\u200b", "minilm": "\u200b"}
SENTENCE = "Mutations in the APC gene cause familial adenomatous polyposis ( FAP ) .".split()


def _tokenizer(name: str) -> Tokenizer:
    path = TOKENIZERS[name]
    if not path.is_file():
        pytest.skip(f"{path} is not prepared (make minilm)")
    return Tokenizer.from_file(str(path))


@pytest.fixture(params=sorted(TOKENIZERS))
def family(request):
    return request.param


def _word_pieces(tokenizer: Tokenizer, word: str):
    return tokenizer.encode([word], is_pretokenized=True, add_special_tokens=False).ids


def test_special_tokens_of_each_family():
    xlnet = SpecialTokens.from_tokenizer(_tokenizer("xlnet"))
    # XLNet: pieces then <sep> <cls>; <cls> has token type 2.
    assert xlnet == SpecialTokens(
        start=(), start_types=(), end=(4, 3), end_types=(0, 2), piece_type=0, unk=0
    )
    bert = SpecialTokens.from_tokenizer(_tokenizer("bert"))
    assert bert == SpecialTokens(
        start=(2,), start_types=(0,), end=(3,), end_types=(0,), piece_type=0, unk=1
    )
    assert SpecialTokens.from_dict(bert.to_dict()) == bert
    assert SpecialTokens.from_tokenizer(_tokenizer("bert"), unk=7).unk == 7


def test_a_sentence_is_its_words_pieces_framed_by_special_tokens(family):
    tokenizer = _tokenizer(family)
    encoder = PieceEncoder(tokenizer)
    special = encoder.special_tokens
    sentence = encoder.encode(SENTENCE)
    pieces = [p for word in SENTENCE for p in _word_pieces(tokenizer, word)]
    assert sentence.ids.tolist() == [*special.start, *pieces, *special.end]
    assert sentence.type_ids.tolist() == [
        *special.start_types,
        *[special.piece_type] * len(pieces),
        *special.end_types,
    ]
    assert sentence.ids.dtype == sentence.type_ids.dtype == sentence.first_piece.dtype == np.int64
    position = len(special.start)
    for word, first in zip(SENTENCE, sentence.first_piece.tolist()):
        assert first == position
        position += len(_word_pieces(tokenizer, word))


def test_a_word_without_pieces_gets_the_unknown_piece(family):
    tokenizer = _tokenizer(family)
    pieceless = PIECELESS[family]
    assert _word_pieces(tokenizer, pieceless) == []
    encoder = PieceEncoder(tokenizer, max_length=16)
    unk = encoder.special_tokens.unk
    for words in ([pieceless], [pieceless, pieceless], ["cancer", pieceless, "of", pieceless]):
        sentence = encoder.encode(words)
        assert len(sentence.first_piece) == len(words)
        assert len(set(sentence.first_piece.tolist())) == len(words)  # a piece of its own each
        for word, first in zip(words, sentence.first_piece.tolist()):
            if word == pieceless:
                assert sentence.ids[first] == unk
    # The unknown piece is inserted, not substituted: the other words keep their pieces.
    with_unk = encoder.encode(["cancer", pieceless, "of"])
    without = encoder.encode(["cancer", "of"])
    kept = np.delete(with_unk.ids, with_unk.first_piece[1])
    assert kept.tolist() == without.ids.tolist()


def test_the_issue_texts_give_every_word_a_piece():
    # Issue 12 item 1: these crashed the predictor (an empty piece sequence).
    encoder = PieceEncoder(_tokenizer("xlnet"), max_length=64)
    for text in ("\U00016f51", "\U00016f51 \U00016f51"):
        words = text.split()
        batch = encoder.batch([encoder.encode(words)])
        index = batch.word_index[batch.word_mask]
        assert len(index) == len(words)
        assert batch.mask.reshape(-1)[index].all()
        assert (batch.token_ids.reshape(-1)[index] == encoder.special_tokens.unk).all()


def test_lone_surrogates_are_split_as_the_replacement_character(family):
    # Issue 12 item 2: the Rust tokenizer cannot take lone surrogates (UTF-8 has no encoding for
    # them); the word keeps its text, its pieces are those of U+FFFD.
    encoder = PieceEncoder(_tokenizer(family))
    assert piece_text("a\ud800b\udc00") == "a\ufffdb\ufffd"
    assert piece_text("plain") == "plain"
    for words in (["lone", "\ud800", "colorectal", "cancer"], ["rev", "\udc00", "\ud800", "x"]):
        replaced = [w.replace("\ud800", "\ufffd").replace("\udc00", "\ufffd") for w in words]
        got, expected = encoder.encode(words), encoder.encode(replaced)
        assert got.ids.tolist() == expected.ids.tolist()
        assert got.first_piece.tolist() == expected.first_piece.tolist()


def test_long_sentences_fold_into_segments_with_their_own_special_tokens(family):
    tokenizer = _tokenizer(family)
    unfolded = PieceEncoder(tokenizer).encode(SENTENCE * 5)
    encoder = PieceEncoder(tokenizer, max_length=16)
    special = encoder.special_tokens
    folded = encoder.encode(SENTENCE * 5)
    ids = folded.ids.tolist()
    segments = [ids[i : i + 16] for i in range(0, len(ids), 16)]
    assert len(segments) > 2 and all(len(s) == 16 for s in segments[:-1])
    pieces = []
    for segment in segments:
        assert tuple(segment[: len(special.start)]) == special.start
        assert tuple(segment[len(segment) - len(special.end) :]) == special.end
        pieces += segment[len(special.start) : len(segment) - len(special.end)]
    start = len(special.start)
    assert pieces == unfolded.ids.tolist()[start : len(unfolded.ids) - len(special.end)]
    # Each word's first piece is the same piece in both forms.
    assert (folded.ids[folded.first_piece] == unfolded.ids[unfolded.first_piece]).all()


def test_an_empty_sentence_is_one_segment_of_special_tokens():
    encoder = PieceEncoder(_tokenizer("bert"), max_length=16)
    empty = encoder.encode([])
    assert empty.ids.tolist() == [2, 3] and empty.first_piece.tolist() == []
    assert [s.ids.tolist() for s in encoder.encode_batch([[], ["a"], []])] == [
        [2, 3],
        encoder.encode(["a"]).ids.tolist(),
        [2, 3],
    ]


def test_encode_batch_equals_encode(family):
    encoder = PieceEncoder(_tokenizer(family), max_length=16)
    sentences = [SENTENCE, [], SENTENCE[:3] * 9, [PIECELESS[family], "\ud800"]]
    for batched, sentence in zip(encoder.encode_batch(sentences), sentences):
        single = encoder.encode(sentence)
        assert batched.ids.tolist() == single.ids.tolist()
        assert batched.type_ids.tolist() == single.type_ids.tolist()
        assert batched.first_piece.tolist() == single.first_piece.tolist()


@pytest.mark.parametrize("max_length", [None, 16])
def test_the_batch_layout_puts_every_word_at_its_first_piece(family, max_length):
    encoder = PieceEncoder(_tokenizer(family), max_length=max_length)
    sentences = [SENTENCE * 4, SENTENCE[:2], SENTENCE, ["IL-2"] * 40]
    encoded = [encoder.encode(words) for words in sentences]
    batch = encoder.batch(encoded)
    rows, length = batch.token_ids.shape
    assert batch.mask.shape == batch.type_ids.shape == (rows, length)
    assert batch.word_index.shape == batch.word_mask.shape == (4, max(map(len, sentences)))
    assert batch.token_ids.dtype == batch.type_ids.dtype == batch.word_index.dtype == np.int64
    assert batch.mask.dtype == batch.word_mask.dtype == np.bool_
    if max_length is None:
        assert rows == 4 and length == max(len(s.ids) for s in encoded)
    else:
        assert length == max_length
        assert rows == sum(-(-len(s.ids) // max_length) for s in encoded)
    assert batch.mask.any(axis=1).all()  # no row of padding only
    assert (batch.token_ids[~batch.mask] == 0).all() and (batch.type_ids[~batch.mask] == 0).all()
    for i, sentence in enumerate(encoded):
        rows_of_sentence = slice(batch.row_start[i], batch.row_start[i + 1])
        assert batch.token_ids[rows_of_sentence][batch.mask[rows_of_sentence]].tolist() == (
            sentence.ids.tolist()
        )
        words = len(sentences[i])
        assert batch.word_mask[i].tolist() == [True] * words + [False] * (
            batch.word_mask.shape[1] - words
        )
        flat = batch.token_ids.reshape(-1)[batch.word_index[i, :words]]
        assert flat.tolist() == sentence.ids[sentence.first_piece].tolist()


def test_rows_and_word_index_of_a_subset_of_sentences():
    encoder = PieceEncoder(_tokenizer("xlnet"), max_length=16)
    encoded = [encoder.encode(words) for words in (SENTENCE * 3, SENTENCE[:4], SENTENCE * 2)]
    batch = encoder.batch(encoded)
    layout = FoldLayout(np.array([len(s.ids) for s in encoded]), 16)
    first = np.zeros(batch.word_index.shape, np.int64)
    for i, sentence in enumerate(encoded):
        first[i, : len(sentence.first_piece)] = sentence.first_piece
    assert (layout.word_index(first) == batch.word_index).all()
    assert layout.rows().tolist() == list(range(batch.token_ids.shape[0]))
    for subset in ([2, 0], [1], [0, 1, 2]):
        rows = layout.rows(subset)
        block = batch.token_ids[rows].reshape(-1)
        index = layout.word_index(first, subset)
        for k, i in enumerate(subset):
            words = len(encoded[i].first_piece)
            expected = batch.token_ids.reshape(-1)[batch.word_index[i, :words]]
            assert block[index[k, :words]].tolist() == expected.tolist()


def test_a_wider_padded_input_folds_the_same():
    lengths = np.array([5, 20, 3])
    narrow = np.random.default_rng(0).integers(1, 100, (3, 20))
    wide = np.pad(narrow, ((0, 0), (0, 10)), constant_values=-1)
    expected = FoldLayout(lengths, 8).fold(narrow)
    assert (FoldLayout(lengths, 8, padded_length=30).fold(wide) == expected).all()


def test_memory_is_linear_in_pieces_for_garbage_words():
    # IOB corpora do not cut tokens: a word of 20,000 characters is many pieces, so segments,
    # never a [words x pieces] array.
    encoder = PieceEncoder(_tokenizer("xlnet"), max_length=64)
    words = ["x" * 20000, "cancer", "\U00016f51" * 300]
    sentence = encoder.encode(words)
    batch = encoder.batch([sentence, encoder.encode(["a"])])
    segments = -(-len(sentence.ids) // 64)
    assert batch.token_ids.shape == (segments + 1, 64)
    assert batch.word_index.shape == (2, 3)


def test_max_length_must_leave_room_for_pieces():
    with pytest.raises(ValueError, match="no room for pieces"):
        PieceEncoder(_tokenizer("xlnet"), max_length=2)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), max_size=30))
def test_any_words_get_one_first_piece_each(words):
    encoder = PieceEncoder(_tokenizer("xlnet"), max_length=16)
    sentence = encoder.encode(words)
    special = encoder.special_tokens
    first = sentence.first_piece.tolist()
    assert len(first) == len(words) and first == sorted(set(first))
    for position in first:
        column = position % 16
        assert len(special.start) <= column < 16 - len(special.end)
    batch = encoder.batch([sentence])
    assert batch.word_mask.sum() == len(words)


def test_needs_neither_torch_nor_transformers():
    code = (
        "import sys, hsl_bioner_runtime.pieces; "
        "print([m for m in ('torch', 'transformers', 'allennlp') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
