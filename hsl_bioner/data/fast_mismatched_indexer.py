"""AllenNLP's mismatched transformer indexer, with one tokenizer call per sentence."""
from typing import List, Optional, Tuple

from allennlp.data import Token, Vocabulary
from allennlp.data.token_indexers import PretrainedTransformerMismatchedIndexer, TokenIndexer
from allennlp.data.token_indexers.token_indexer import IndexedTokenList


@TokenIndexer.register("pretrained_transformer_mismatched_fast")
class FastMismatchedIndexer(PretrainedTransformerMismatchedIndexer):
    """`pretrained_transformer_mismatched`, producing the same indices, but splitting all words of
    a sentence into pieces in ONE call of the Hugging Face fast tokenizer (`is_split_into_words`)
    instead of one call per word: the per-word calls cost more than the encoder's forward pass
    when tagging raw text with a MiniLM-size model. Falls back to the per-word path for tokenizers
    without a fast (Rust) implementation.

    Registered as a `TokenIndexer` with name "pretrained_transformer_mismatched_fast"; takes the
    parameters of "pretrained_transformer_mismatched" (`model_name`, `namespace`, `max_length`,
    `tokenizer_kwargs`).
    """

    def tokens_to_indices(self, tokens: List[Token], vocabulary: Vocabulary) -> IndexedTokenList:
        tokenizer = self._allennlp_tokenizer.tokenizer
        if not getattr(tokenizer, "is_fast", False) or not tokens:
            return super().tokens_to_indices(tokens, vocabulary)
        self._matched_indexer._add_encoding_to_vocabulary_if_needed(vocabulary)
        piece_ids, offsets = self._pieces([t.ensure_text() for t in tokens])
        pieces = tokenizer.convert_ids_to_tokens(piece_ids)
        wordpieces = self._allennlp_tokenizer.add_special_tokens(
            [Token(text=text, text_id=i) for i, text in zip(piece_ids, pieces)]
        )
        shift = len(self._allennlp_tokenizer.single_sequence_start_tokens)
        output: IndexedTokenList = {
            "token_ids": [t.text_id for t in wordpieces],
            "mask": [True] * len(tokens),
            "type_ids": [t.type_id for t in wordpieces],
            # A word without pieces gets (-1, -1): its vector is zero, as in AllenNLP.
            "offsets": [(-1, -1) if o is None else (o[0] + shift, o[1] + shift) for o in offsets],
            "wordpiece_mask": [True] * len(wordpieces),
        }
        return self._matched_indexer._postprocess_output(output)

    def _pieces(self, words: List[str]) -> Tuple[List[int], List[Optional[Tuple[int, int]]]]:
        encoded = self._allennlp_tokenizer.tokenizer(
            words,
            is_split_into_words=True,
            add_special_tokens=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        offsets: List[Optional[Tuple[int, int]]] = [None] * len(words)
        for position, word in enumerate(encoded.word_ids()):
            if word is not None:
                first = offsets[word][0] if offsets[word] is not None else position
                offsets[word] = (first, position)
        return encoded["input_ids"], offsets
