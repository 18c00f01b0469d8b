"""Words to the encoder's word pieces, through the runtime's `PieceEncoder`."""

from typing import Any, Dict, List, Optional

import torch
from allennlp.common import cached_transformers
from allennlp.common.checks import ConfigurationError
from allennlp.data import Token, Vocabulary
from allennlp.data.token_indexers import TokenIndexer
from allennlp.data.token_indexers.token_indexer import IndexedTokenList

from hsl_bioner.encoder_files import encoder_source
from hsl_bioner_runtime.pieces import PieceEncoder, SpecialTokens


@TokenIndexer.register("bioner_pieces")
class PieceIndexer(TokenIndexer):
    """Splits a sentence's words into the encoder's word pieces with the rules of
    `hsl_bioner_runtime.pieces` (the same code the exported runtime runs): one tokenizer call per
    sentence, long inputs folded into segments of `max_length` with their special tokens.

    The ids are those of AllenNLP's ``pretrained_transformer_mismatched`` indexer, but for one
    deviation: a word the tokenizer turns into no piece (e.g. U+16F51 for the tiny XLNet, U+200B
    for BERT) gets the unknown piece, where AllenNLP gives it none (a zero vector, and an empty
    encoder input for a sentence of such words only). Why not that indexer: it tokenizes word by
    word (slower than the encoder itself on raw text), its folding lives in private methods, and
    the runtime needs the same pieces without torch.

    Output, per sentence (padded by the batch; read by the "bioner_split_transformer"
    embedder): ``token_ids`` and ``type_ids``, the folded piece sequence (every segment with its
    special tokens); ``wordpiece_mask``, true at its pieces; ``first_piece``, the position in it
    of each word's first piece; ``mask``, true for each word.

    The tokenizer is a fast (Rust) tokenizer. When the model is loaded from an archive that holds
    the encoder's files (see `hsl_bioner.encoder_files`), it comes from there, not `model_name`.

    Registered as a `TokenIndexer` with name "bioner_pieces".

    # Parameters

    model_name : `str`
        Hugging Face name or local folder of the encoder.
    max_length : `int`, optional (default = `None`)
        Longest encoder input, special tokens included; longer sentences are folded into segments.
        Must equal the embedder's `max_length`.
    tokenizer_kwargs : `Dict[str, Any]`, optional (default = `None`)
        Extra arguments for `AutoTokenizer.from_pretrained`.
    serialization_dir : `str`, optional (default = `None`)
        Supplied by AllenNLP (the run's folder when training, the extracted archive when
        loading); not a config key.
    token_min_padding_length : `int`, optional (default = `0`)
        See `TokenIndexer`.
    """

    def __init__(
        self,
        model_name: str,
        max_length: Optional[int] = None,
        tokenizer_kwargs: Optional[Dict[str, Any]] = None,
        serialization_dir: Optional[str] = None,
        token_min_padding_length: int = 0,
    ) -> None:
        super().__init__(token_min_padding_length)
        source, _ = encoder_source(model_name, serialization_dir)
        tokenizer = cached_transformers.get_tokenizer(
            source, **{"use_fast": True, **(tokenizer_kwargs or {})}
        )
        if not tokenizer.is_fast:
            raise ConfigurationError(
                f"The tokenizer of {model_name} has no fast (Rust) version: the bioner_pieces "
                "indexer needs one."
            )
        special = SpecialTokens.from_tokenizer(
            tokenizer.backend_tokenizer, unk=tokenizer.unk_token_id
        )
        try:
            self.pieces = PieceEncoder(tokenizer.backend_tokenizer, special, max_length)
        except ValueError as error:
            raise ConfigurationError(str(error)) from error

    def count_vocab_items(self, token: Token, counter: Dict[str, Dict[str, int]]) -> None:
        # The encoder has its own vocabulary.
        pass

    def tokens_to_indices(self, tokens: List[Token], vocabulary: Vocabulary) -> IndexedTokenList:
        sentence = self.pieces.encode([t.ensure_text() for t in tokens])
        return {
            "token_ids": sentence.ids.tolist(),
            "type_ids": sentence.type_ids.tolist(),
            "wordpiece_mask": [True] * len(sentence.ids),
            "first_piece": sentence.first_piece.tolist(),
            "mask": [True] * len(tokens),
        }

    def get_empty_token_list(self) -> IndexedTokenList:
        keys = ("token_ids", "type_ids", "wordpiece_mask", "first_piece", "mask")
        return {key: [] for key in keys}

    def as_padded_tensor_dict(
        self, tokens: IndexedTokenList, padding_lengths: Dict[str, int]
    ) -> Dict[str, torch.Tensor]:
        # Padding is 0 (False): the embedder's folding masks it out.
        tensors = {}
        for key, values in tokens.items():
            dtype = torch.bool if key.endswith("mask") else torch.long
            tensor = torch.zeros(padding_lengths[key], dtype=dtype)
            tensor[: len(values)] = torch.tensor(values, dtype=tensor.dtype)
            tensors[key] = tensor
        return tensors
