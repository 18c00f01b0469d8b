"""The raw-text tokenizer of the runtime core as an AllenNLP `Tokenizer` ("bioner_text").

The tokenisation and sentence-splitting rules live once, in `hsl_bioner_runtime.text`
(torch-free, shared with the exported runtime); this module only converts its `TextToken`s into
AllenNLP `Token`s so that the tokenizer can be named in a Jsonnet config.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

from allennlp.data.tokenizers import Token, Tokenizer

from hsl_bioner_runtime.text import TextToken, TextTokenizer


@Tokenizer.register("bioner_text")
class BioTextTokenizer(Tokenizer):
    """
    Splits raw biomedical text into the tokens our tagger was trained on (runs of letters/digits
    are tokens, every other visible character is a token of its own; see
    `hsl_bioner_runtime.text`), with exact character offsets: each returned `Token` has `idx`
    (start) and `idx_end` (end, exclusive) into the ORIGINAL string and
    `text[token.idx:token.idx_end] == token.text`. Also splits abstracts into sentences
    (`tokenize_sentences`, `split_sentences`).

    Registered as a `Tokenizer` with name "bioner_text". The work is done by
    `hsl_bioner_runtime.text.TextTokenizer` (attribute `text_tokenizer`), which code that needs no
    AllenNLP `Token` (the predictor, the runtime) uses directly.

    # Parameters

    max_token_chars : `int`, optional (default = `50`)
        Longest token produced; a longer run of letters/digits is cut into consecutive pieces of
        at most this many characters, each with exact offsets.
    max_sentence_tokens : `int`, optional (default = `300`)
        Longest sentence, in tokens, produced by `tokenize_sentences`/`split_sentences`; a longer
        one is cut into chunks (preferably after `;`, `,` or `:`).
    newline_is_sentence_break : `bool`, optional (default = `False`)
        If `False`, only a blank line (or U+2029) forces a sentence break; if `True`, every line
        break does (one sentence, title or heading per line).
    extra_abbreviations : `List[str]`, optional (default = `None`)
        More abbreviations after which a period never ends a sentence, e.g. `["approx", "resp"]`.
    """

    def __init__(
        self,
        max_token_chars: int = 50,
        max_sentence_tokens: int = 300,
        newline_is_sentence_break: bool = False,
        extra_abbreviations: Optional[List[str]] = None,
    ) -> None:
        self.text_tokenizer = TextTokenizer(
            max_token_chars=max_token_chars,
            max_sentence_tokens=max_sentence_tokens,
            newline_is_sentence_break=newline_is_sentence_break,
            extra_abbreviations=extra_abbreviations,
        )

    def tokenize(self, text: str) -> List[Token]:
        """Tokens of `text` with exact `idx`/`idx_end` offsets into `text`."""
        return _allennlp_tokens(self.text_tokenizer.tokenize(text))

    def tokenize_sentences(self, text: str) -> List[List[Token]]:
        """Sentences of `text`, each a list of tokens with offsets into the ORIGINAL `text`."""
        return [_allennlp_tokens(s) for s in self.text_tokenizer.tokenize_sentences(text)]

    def split_sentences(self, text: str) -> List[Tuple[int, int]]:
        """Character spans `(start, end)` of the sentences of `text`."""
        return self.text_tokenizer.split_sentences(text)

    def _to_params(self) -> Dict[str, Any]:
        return {"type": "bioner_text", **self.text_tokenizer.settings()}


def _allennlp_tokens(tokens: Sequence[TextToken]) -> List[Token]:
    return [Token(t.text, idx=t.start, idx_end=t.end) for t in tokens]
