"""Words -> word pieces -> encoder inputs: one implementation for the plugin and the runtime.

A sentence arrives as words (the IOB corpus's tokens, or the raw-text tokenizer's). The encoder
reads word *pieces*: each word is split by the encoder's own tokenizer (a `tokenizers.Tokenizer`,
the Rust tokenizer behind every Hugging Face fast tokenizer, saved as ``tokenizer.json``), the
pieces of the sentence are cut into segments of at most ``max_length`` pieces, each segment
framed by the encoder family's special tokens, and every word is later read at its first piece.

The rules, the same wherever a model runs:

- **Pieces** are those of AllenNLP's ``pretrained_transformer_mismatched`` indexer (each word
  tokenized on its own, no special tokens), computed in one tokenizer call per sentence.
- **A word without pieces** (some tokenizers map a character to nothing: the tiny XLNet's
  SentencePiece normalizer drops U+16F51, BERT's drops U+200B and control characters) gets the
  tokenizer's unknown piece, so that every word has a first piece and a vector. AllenNLP gives such
  a word no piece and a zero vector, and a sentence made only of such words an empty encoder input.
- **Lone surrogates** (U+D800-U+DFFF, which Python strings from JSON may hold but UTF-8 and the
  Rust tokenizer cannot) are replaced by U+FFFD for piece purposes only; the word itself, its text
  and its offsets are untouched.
- **Special tokens** come from the tokenizer's post-processor: BERT frames a segment as
  ``[CLS] ... [SEP]`` (type ids 0), XLNet as ``... <sep> <cls>`` (type ids 0, 0 and 2 for
  ``<cls>``), as AllenNLP's `PretrainedTransformerTokenizer` finds them.
- **Folding**: with ``max_length``, the pieces are cut into runs of ``max_length`` minus the number
  of special tokens, each run framed by the special tokens (AllenNLP's indexer and
  `PretrainedTransformerEmbedder._fold_long_sequences`); every segment but the last of a sentence
  is exactly ``max_length`` long. Every sentence has at least one segment (an empty sentence: the
  special tokens alone). A sentence's segments, concatenated, are its *folded* piece sequence.
- **Batch layout**: the segments of all sentences of a batch are the rows of one
  ``[rows, length]`` array (rows of one sentence consecutive, no row of padding only), and each
  word is located by the flat index of its first piece in that array (`PieceBatch.word_index`):
  the word vectors of a batch are ``hidden.reshape(rows * length, dim)[word_index]``, a
  ``[sentences, words, dim]`` array whatever the length of a word in pieces.

Memory is linear in the number of pieces: nothing is ``[words x pieces]``. A very long word (IOB
corpora do not cut tokens; the raw-text tokenizer cuts them at 50 characters) only adds pieces,
and so segments; WordPiece tokenizers turn a word of more than ``max_input_chars_per_word``
(BERT: 100) characters into one unknown piece anyway.

Needs numpy and tokenizers only.
"""

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from tokenizers import Encoding, Tokenizer

_SURROGATE = re.compile("[\ud800-\udfff]")


def piece_text(word: str) -> str:
    """The text the tokenizer splits for `word`: the word with every lone surrogate replaced by
    U+FFFD (the Rust tokenizer cannot take surrogates)."""
    return _SURROGATE.sub("\ufffd", word) if _SURROGATE.search(word) else word


@dataclass(frozen=True)
class SpecialTokens:
    """Where an encoder family puts its special tokens around one segment, and its unknown piece.

    `start` / `end` are the ids before / after a segment's pieces, `start_types` / `end_types`
    their token type ids, `piece_type` the type id of the pieces, `unk` the id given to a word
    without pieces."""

    start: Tuple[int, ...]
    start_types: Tuple[int, ...]
    end: Tuple[int, ...]
    end_types: Tuple[int, ...]
    piece_type: int
    unk: int

    @classmethod
    def from_tokenizer(cls, tokenizer: Tokenizer, unk: Optional[int] = None) -> "SpecialTokens":
        """Reads the layout from `tokenizer`'s post-processor (the special tokens it adds to one
        sequence); `unk` defaults to the unknown piece of the tokenizer's model (``unk_id`` of a
        Unigram model, ``unk_token`` of WordPiece and BPE)."""
        for dummy in ("a", "1"):  # as AllenNLP: a dummy word that has a piece of its own
            encoding = tokenizer.encode([dummy], is_pretokenized=True, add_special_tokens=True)
            real = [i for i, special in enumerate(encoding.special_tokens_mask) if not special]
            if real:
                break
        else:
            raise ValueError("Cannot find the special tokens: the tokenizer gives 'a' no piece.")
        first, last = real[0], real[-1]
        piece_types = {encoding.type_ids[i] for i in real}
        if len(piece_types) != 1:
            raise ValueError(f"One sequence's pieces have several type ids: {piece_types}.")
        if unk is None:
            unk = _unknown_piece(tokenizer)
        return cls(
            start=tuple(encoding.ids[:first]),
            start_types=tuple(encoding.type_ids[:first]),
            end=tuple(encoding.ids[last + 1 :]),
            end_types=tuple(encoding.type_ids[last + 1 :]),
            piece_type=piece_types.pop(),
            unk=unk,
        )

    @property
    def count(self) -> int:
        """Special tokens per segment."""
        return len(self.start) + len(self.end)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "start": list(self.start),
            "start_types": list(self.start_types),
            "end": list(self.end),
            "end_types": list(self.end_types),
            "piece_type": self.piece_type,
            "unk": self.unk,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "SpecialTokens":
        return cls(
            start=tuple(data["start"]),
            start_types=tuple(data["start_types"]),
            end=tuple(data["end"]),
            end_types=tuple(data["end_types"]),
            piece_type=int(data["piece_type"]),
            unk=int(data["unk"]),
        )


def _unknown_piece(tokenizer: Tokenizer) -> int:
    model = json.loads(tokenizer.to_str())["model"]
    if model.get("unk_id") is not None:
        return int(model["unk_id"])
    if model.get("unk_token") is not None:
        unk = tokenizer.token_to_id(model["unk_token"])
        if unk is not None:
            return unk
    raise ValueError(
        f"The tokenizer's {model.get('type', '')} model names no unknown piece: give `unk`."
    )


@dataclass(frozen=True)
class SentencePieces:
    """One sentence's folded piece sequence (segments with their special tokens, concatenated).

    `ids` and `type_ids` are int64 ``[pieces]``; `first_piece` is int64 ``[words]``, the position
    of each word's first piece in `ids`."""

    ids: np.ndarray
    type_ids: np.ndarray
    first_piece: np.ndarray


class PieceEncoder:
    """Splits sentences of words into folded piece sequences (`encode`) and lays several out as one
    batch (`batch`).

    # Parameters

    tokenizer : `tokenizers.Tokenizer`
        The encoder's tokenizer (a fast tokenizer's ``backend_tokenizer``, or
        ``Tokenizer.from_file("tokenizer.json")``).
    special_tokens : `SpecialTokens`, optional (default = read from `tokenizer`)
        The encoder family's special tokens and unknown piece.
    max_length : `int`, optional (default = `None`)
        Longest segment, special tokens included; `None` never folds. Must exceed the number of
        special tokens.
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        special_tokens: Optional[SpecialTokens] = None,
        max_length: Optional[int] = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.special_tokens = special_tokens or SpecialTokens.from_tokenizer(tokenizer)
        self.max_length = max_length
        if max_length is not None and max_length <= self.special_tokens.count:
            raise ValueError(
                f"max_length {max_length} leaves no room for pieces next to the "
                f"{self.special_tokens.count} special tokens of each segment."
            )

    @property
    def segment_pieces(self) -> Optional[int]:
        """Pieces per full segment, special tokens excluded (`None`: no folding)."""
        return None if self.max_length is None else self.max_length - self.special_tokens.count

    def encode(self, words: Sequence[str]) -> SentencePieces:
        """The folded piece sequence of one sentence."""
        if not words:
            return self._fold(np.zeros(0, np.int64), np.zeros(0, np.int64))
        encoding = self.tokenizer.encode(
            [piece_text(word) for word in words], is_pretokenized=True, add_special_tokens=False
        )
        return self._from_encoding(encoding, len(words))

    def encode_batch(self, sentences: Sequence[Sequence[str]]) -> List[SentencePieces]:
        """`encode` of several sentences in one tokenizer call."""
        encodings = iter(
            self.tokenizer.encode_batch(
                [[piece_text(word) for word in words] for words in sentences if words],
                is_pretokenized=True,
                add_special_tokens=False,
            )
        )
        return [
            self._from_encoding(next(encodings), len(words)) if words else self.encode(words)
            for words in sentences
        ]

    def _from_encoding(self, encoding: Encoding, num_words: int) -> SentencePieces:
        word_of_piece = np.array(
            [-1 if w is None else w for w in encoding.word_ids], dtype=np.int64
        )
        piece_ids = np.array(encoding.ids, dtype=np.int64)
        counts = np.bincount(word_of_piece, minlength=num_words)
        if (counts == 0).any():
            # A word without pieces gets the unknown piece: pieces of word w start at starts[w].
            sizes = np.maximum(counts, 1)
            starts = np.cumsum(sizes) - sizes
            first_of_word = np.cumsum(counts) - counts
            filled = np.full(int(sizes.sum()), self.special_tokens.unk, dtype=np.int64)
            rank = np.arange(len(piece_ids)) - first_of_word[word_of_piece]
            filled[starts[word_of_piece] + rank] = piece_ids
            piece_ids, first = filled, starts
        else:
            first = np.cumsum(counts) - counts
        return self._fold(piece_ids, first)

    def _fold(self, pieces: np.ndarray, first: np.ndarray) -> SentencePieces:
        special = self.special_tokens
        per_segment = self.segment_pieces or max(len(pieces), 1)
        num_segments = max(1, -(-len(pieces) // per_segment))
        ids: List[np.ndarray] = []
        types: List[np.ndarray] = []
        for s in range(num_segments):
            run = pieces[s * per_segment : (s + 1) * per_segment]
            ids += [np.array(special.start, np.int64), run, np.array(special.end, np.int64)]
            types += [
                np.array(special.start_types, np.int64),
                np.full(len(run), special.piece_type, np.int64),
                np.array(special.end_types, np.int64),
            ]
        segment, column = np.divmod(first, per_segment)
        position = segment * (per_segment + special.count) + len(special.start) + column
        return SentencePieces(
            ids=np.concatenate(ids),
            type_ids=np.concatenate(types),
            first_piece=position.astype(np.int64),
        )

    def batch(self, sentences: Sequence[SentencePieces]) -> "PieceBatch":
        """The batch arrays of `sentences` (see `PieceBatch`)."""
        lengths = np.array([len(s.ids) for s in sentences], dtype=np.int64)
        words = np.array([len(s.first_piece) for s in sentences], dtype=np.int64)
        padded = int(lengths.max(initial=0))
        ids = np.zeros((len(sentences), padded), np.int64)
        types = np.zeros((len(sentences), padded), np.int64)
        first = np.zeros((len(sentences), int(words.max(initial=0))), np.int64)
        for i, sentence in enumerate(sentences):
            ids[i, : lengths[i]] = sentence.ids
            types[i, : lengths[i]] = sentence.type_ids
            first[i, : words[i]] = sentence.first_piece
        layout = FoldLayout(lengths, self.max_length)
        word_mask = np.arange(first.shape[1]) < words[:, None]
        return PieceBatch(
            token_ids=layout.fold(ids),
            mask=layout.mask,
            type_ids=layout.fold(types),
            word_index=layout.word_index(first),
            word_mask=word_mask,
            row_start=layout.row_start,
        )


class FoldLayout:
    """Where the folded piece sequences of a batch go in the ``[rows, length]`` encoder input.

    Sentence ``i`` (folded length ``lengths[i]``) becomes ``ceil(lengths[i] / max_length)``
    consecutive rows (at least one), rows ``row_start[i]`` to ``row_start[i + 1]``; ``length`` is
    ``max_length`` if any sentence has several segments, else the longest sentence. Position ``p``
    of sentence ``i`` is row ``row_start[i] + p // max_length``, column ``p % max_length``.

    # Parameters

    lengths : `np.ndarray`
        int64 ``[sentences]``: folded piece counts.
    max_length : `int`, optional
        The encoder's segment length; `None`: one row per sentence.
    padded_length : `int`, optional (default = the longest of `lengths`)
        Width of the padded ``[sentences, padded_length]`` input that `fold` and `source` read.
    """

    def __init__(
        self, lengths: np.ndarray, max_length: Optional[int], padded_length: Optional[int] = None
    ) -> None:
        lengths = np.asarray(lengths, dtype=np.int64)
        longest = int(lengths.max(initial=0))
        width = longest if padded_length is None else padded_length
        self.segment = max(longest, 1) if max_length is None else max_length
        self.length = min(self.segment, longest)
        rows_per_sentence = np.maximum(1, -(-lengths // self.segment))
        self.row_start = np.concatenate([[0], np.cumsum(rows_per_sentence)]).astype(np.int64)
        num_rows = int(self.row_start[-1])
        sentence = np.repeat(np.arange(len(lengths)), rows_per_sentence)
        segment = np.arange(num_rows) - self.row_start[sentence]
        position = segment[:, None] * self.segment + np.arange(self.length)
        #: bool ``[rows, length]``: true at real pieces.
        self.mask = position < lengths[sentence][:, None]
        #: int64 ``[rows, length]``: flat index of each cell into the padded
        #: ``[sentences, padded_length]`` input (0 where `mask` is false), to fold tensors with.
        self.source = np.where(self.mask, sentence[:, None] * width + position, 0)

    @property
    def num_rows(self) -> int:
        return int(self.row_start[-1])

    def fold(self, padded: np.ndarray) -> np.ndarray:
        """``[sentences, padded_length]`` -> ``[rows, length]``, 0 where `mask` is false."""
        return np.where(self.mask, padded.reshape(-1)[self.source], 0)

    def rows(self, sentences: Optional[Sequence[int]] = None) -> np.ndarray:
        """int64: the rows of `sentences` (default: all), sentence by sentence."""
        if sentences is None:
            return np.arange(self.num_rows, dtype=np.int64)
        sentences = np.asarray(sentences, dtype=np.int64)
        starts, stops = self.row_start[sentences], self.row_start[sentences + 1]
        counts = stops - starts
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        return (np.repeat(starts, counts) + offsets).astype(np.int64)

    def word_index(
        self, first_piece: np.ndarray, sentences: Optional[Sequence[int]] = None
    ) -> np.ndarray:
        """int64 ``[len(sentences), words]``: for each word (its folded position in
        `first_piece`, ``[sentences, words]`` or the rows of `sentences` only), the flat index
        of its first piece into ``[len(rows(sentences)) * length]``."""
        first_piece = np.asarray(first_piece, dtype=np.int64)
        if sentences is None:
            local_start = self.row_start[:-1]
        else:
            sentences = np.asarray(sentences, dtype=np.int64)
            first_piece = first_piece[sentences]
            counts = self.row_start[sentences + 1] - self.row_start[sentences]
            local_start = np.cumsum(counts) - counts
        row = local_start[:, None] + first_piece // self.segment
        return (row * self.length + first_piece % self.segment).astype(np.int64)


@dataclass(frozen=True)
class PieceBatch:
    """The encoder input of a batch of sentences, and where each word's first piece is.

    - `token_ids`: int64 ``[rows, length]``, 0 at padding;
    - `mask`: bool ``[rows, length]``, true at real pieces (special tokens included);
    - `type_ids`: int64 ``[rows, length]``, 0 at padding;
    - `word_index`: int64 ``[sentences, words]``, flat index of each word's first piece into
      ``[rows * length]`` (0 for padding words);
    - `word_mask`: bool ``[sentences, words]``, true for real words;
    - `row_start`: int64 ``[sentences + 1]``, the rows of sentence ``i`` are
      ``row_start[i]:row_start[i + 1]``.
    """

    token_ids: np.ndarray
    mask: np.ndarray
    type_ids: np.ndarray
    word_index: np.ndarray
    word_mask: np.ndarray
    row_start: np.ndarray
