"""Raw-text tokenisation that reproduces the token streams of the MTL-Bioinformatics-2016 corpora.

The tagger is trained on the corpora of Crichton et al. (2017), which were all tokenised by the same
simple convention (checked on every ``*.tsv`` of the 23 folders):

* a run of letters and digits is ONE token, whatever the mix: ``p53``, ``IL``, ``beta2``, ``CD4``,
  ``FK506``, ``24h``, ``H3K4me3``;
* every other visible character is a token of its own: ``5 - fluorouracil``, ``IL - 2``,
  ``Na + / K + - ATPase``, ``3 . 5``, ``1 , 000``, ``Alzheimer ' s``, ``( A - T )``, ``mg / kg``,
  ``_`` included. (The only exceptions are a few hundred multi-character symbols of CRAFT such as
  ``+/-``, ``>=`` and ``(TM)``, which CRAFT itself splits in most places; we always split them.)

:class:`TextTokenizer` applies that convention to raw Unicode text and keeps exact character
offsets, so that predicted entities can be mapped back onto the user's text. It also splits
abstracts into sentences (:meth:`TextTokenizer.split_sentences`,
:meth:`TextTokenizer.tokenize_sentences`), with the rules for biomedical abbreviations, species
names and numbers documented on :meth:`TextTokenizer.split_sentences`. Tokens are
:class:`TextToken` tuples ``(text, start, end)``; the AllenNLP plugin wraps this class as the
``Tokenizer`` "bioner_text" (``hsl_bioner.data.text_tokenizer``).

Character classes (one definition, shared by the tokenizer, the sentence splitter and the tests):

* separator ("whitespace"): ``ch.isspace()`` or Unicode category ``Zs``/``Zl``/``Zp`` (spaces,
  including U+00A0, U+2009, U+3000), ``Cc`` (control characters: NUL, ESC, DEL, C1 controls ...) or
  ``Cf`` (invisible format characters: U+200B zero-width space, U+FEFF byte-order mark, U+00AD soft
  hyphen, bidi marks ...). Separators end a token and never appear inside one.
* word character: a letter or number of any script (categories ``L*``/``N*``, i.e.
  ``ch.isalnum()``: Greek ``α``, micro ``µ``, superscript digits ...) or a combining mark
  (``M*``, so that decomposed accents stay inside their word).
* symbol: everything else (punctuation, ``±``, en/em dashes, ``°``, ``×``, emoji, private-use,
  unassigned and surrogate code points): one token per character.

Every non-separator character of the input therefore lands in exactly one token, and
``text[token.start:token.end] == token.text`` always holds. Offsets count the code points of the
Python string: a lone surrogate (``"\\ud800"`` from JSON, or from ``errors="surrogateescape"``
decoding) is one symbol token of length 1, and so is each half of a reversed pair
``"\\udc00\\ud800"``; a character outside the BMP (``"\\U0001f600"``) is one code point.

What this tokenizer does NOT do: the corpora were converted to ASCII (``alpha`` for ``α``,
``+/-`` for ``±``); we keep the user's characters so that offsets stay exact.
"""
import gc
import re
import unicodedata
from bisect import bisect_left
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain
from typing import Any, Dict, FrozenSet, Iterator, List, NamedTuple, Optional, Pattern, Tuple

_SEPARATOR_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})
_MARK_CATEGORIES = frozenset({"Mn", "Mc", "Me"})


def is_separator(ch: str) -> bool:
    """True for characters that separate tokens and never appear in one (see the module doc)."""
    return unicodedata.category(ch) in _SEPARATOR_CATEGORIES or ch.isspace()


def is_word_char(ch: str) -> bool:
    """True for characters that form multi-character tokens: letters and numbers of any script
    (categories L*, N*: exactly the characters for which ``str.isalnum()`` holds) and combining
    marks (M*)."""
    category = unicodedata.category(ch)
    return category[0] in "LN" or category in _MARK_CATEGORIES


def _ranges_to_class(code_points: List[int]) -> str:
    """Body of a regex character class (without brackets) matching the sorted code points."""
    ranges: List[Tuple[int, int]] = []
    for cp in code_points:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    # \UXXXXXXXX escapes: no character can be misread as class syntax ("]", "-", "^", "\\").
    return "".join(
        f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges
    )


def _collect_classes() -> Tuple[str, str]:
    """Character classes for separators and word characters, derived from Python's unicodedata.

    Deriving them from the same definitions as :func:`is_separator` / :func:`is_word_char`
    (rather than hand-written lists) guarantees that the regexes and the documented definition
    agree. Only planes 0-3 and 14 are scanned, which keeps the import short: in the Unicode
    versions of Python 3.10 to 3.12 the other planes hold only unassigned and private-use code
    points, which are symbols under both definitions (a unit test checks every code point).
    Surrogates (category Cs, e.g. from ``errors="surrogateescape"`` decoding) are left out of both
    classes, so they are symbols.
    """
    category = unicodedata.category
    separators: List[int] = []
    words: List[int] = []
    for cp in chain(range(0xD800), range(0xE000, 0x40000), range(0xE0000, 0xF0000)):
        ch = chr(cp)
        cat = category(ch)
        if cat[0] in "LN" or cat in _MARK_CATEGORIES:
            words.append(cp)
        elif cat in _SEPARATOR_CATEGORIES or ch.isspace():
            separators.append(cp)
    return _ranges_to_class(separators), _ranges_to_class(words)


_SEP_CLASS, _WORD_CLASS = _collect_classes()

# A run of separators (the gaps between tokens).
_SEPARATOR_RUN_RE = re.compile(f"[{_SEP_CLASS}]+")
# Line breaks, as str.splitlines() knows them; U+2029 PARAGRAPH SEPARATOR is a paragraph break on
# its own. A lone "\r" only counts when no "\n" follows, so "\r\n" is never read as two breaks.
_LINE_BREAK = r"\r\n|\r(?!\n)|[\n\x0b\x0c\x1c\x1d\x1e\x85\u2028]"
_NON_BREAK_SEP_CLASS = f"[^\\S\\n\\r\\x0b\\x0c\\x1c\\x1d\\x1e\\x85\\u2028\\u2029]|[{_SEP_CLASS}]"
# A blank line: two line breaks with nothing but (non-line-break) separators in between; the
# pattern only scans forward from a line break, so it is linear in the length of the run.
_PARAGRAPH_BREAK_RE = re.compile(
    f"(?:{_LINE_BREAK})(?:(?!{_LINE_BREAK}|\u2029)(?:{_NON_BREAK_SEP_CLASS}))*"
    f"(?:{_LINE_BREAK}|\u2029)|\u2029"
)
_LINE_BREAK_RE = re.compile(f"{_LINE_BREAK}|\u2029")

# Sentence-final punctuation, then at most four closing quotes/brackets, then a separator. The
# bounded repetitions keep the scan linear even on "??????..." or "))))))..." runs (Python 3.10's
# `re` has no atomic groups, so unbounded `[.!?]+` followed by a failing lookahead could backtrack).
_CLOSERS = "\"'\u2019\u201d\u00bb\u203a)\\]}"
_TERMINALS = ".!?\u2026\u203c\u2047-\u2049"  # . ! ? and the ellipsis, !!, ??, ?!, !? characters
_SENTENCE_END_RE = re.compile(f"[{_TERMINALS}][{_CLOSERS}]{{0,4}}(?=[{_SEP_CLASS}])")
_OPENERS = "\"'\u2018\u201c\u00ab\u2039([{"
# The last whitespace-delimited word before a sentence-final period (bounded look-back).
_LOOKBACK = 64
_STRIP_OPENERS_RE = re.compile(f"^[{re.escape(_OPENERS)}]+")
_DOTTED_ABBREVIATION_RE = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]$")  # U.S, e.g, i.v, M.S
_INITIAL_RE = re.compile(r"^[^\W\d_]\.$")  # "J." in "J. Smith"

#: Abbreviations (lower-cased, final period removed) after which a period never ends a sentence.
#: From the brief and from what precedes sentence-internal ". X" in the corpora (Fig, al, vs, Dr,
#: ref, Suppl, journal names in citations ...). Units that end sentences ("30 min.", "500 ms.",
#: "24 h.", "10 sec.") are deliberately absent.
NO_SPLIT_ABBREVIATIONS: FrozenSet[str] = frozenset(
    """
    e.g i.e al vs cf ca approx appr fig figs tab tabs suppl eq eqs ref refs no nos
    dr drs prof mr mrs st mt jr sr vol pp ed eds i.v i.p s.c i.m p.o i.c.v i.t i.d b.i.d
    t.i.d q.d esp incl viz cv subsp ssp var sect ch chap dept univ
    j biol chem biochem biophys natl acad sci proc immunol virol exp mol res med
    jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()
)
#: Abbreviations that often END a sentence as well: a period after them splits only when the next
#: word starts with an upper-case letter (not a digit or a bracket, which usually continue it).
CAN_END_ABBREVIATIONS: FrozenSet[str] = frozenset(
    "etc inc ltd co corp sp spp a.m p.m".split()
)

#: Abbreviations of four or more letters after which a period is followed by a lower-case word of
#: the same sentence ("approx. five", "conc. was"); before an upper-case word they may end one.
LOWER_CASE_CONTINUATION_ABBREVIATIONS: FrozenSet[str] = frozenset(
    "approx resp subsp conc calc temp diam incl excl equiv corresp prep spec".split()
)


@lru_cache(maxsize=16)
def _token_regex(max_token_chars: int) -> Pattern[str]:
    # A word run of at most `max_token_chars` characters (a longer run simply yields several
    # consecutive matches), or any single non-separator character. Both alternatives consume at
    # least one character and never backtrack beyond the bounded run: linear time on any input.
    return re.compile(f"[{_WORD_CLASS}]{{1,{max_token_chars}}}|[^{_SEP_CLASS}]")


class TextToken(NamedTuple):
    """A token of raw text: ``text == original[start:end]`` (code point offsets, ``end``
    exclusive)."""

    text: str
    start: int
    end: int


class TextTokenizer:
    """
    Splits raw biomedical text into the tokens our tagger was trained on (the convention of the
    MTL-Bioinformatics-2016 corpora: runs of letters/digits are tokens, every other visible
    character is a token of its own), with exact character offsets: each returned `TextToken` has
    `start` and `end` (exclusive) into the ORIGINAL string and
    `text[token.start:token.end] == token.text`. See the module docstring for the character
    classes (lone surrogates are symbol tokens). Also splits abstracts into sentences
    (`split_sentences`, `tokenize_sentences`).

    `settings()` returns the constructor arguments, so `TextTokenizer(**tokenizer.settings())`
    rebuilds the same tokenizer (an export writes them; the AllenNLP wrapper "bioner_text" takes
    the same parameters).

    # Parameters

    max_token_chars : `int`, optional (default = `50`)
        Longest token produced. A longer run of letters/digits (a DNA sequence, a URL-like string,
        10 000 characters of junk) is cut into consecutive pieces of at most this many characters,
        each with its own exact offsets. This bounds the memory of everything downstream
        (wordpiece/SentencePiece tokenisation, character-level features) on pathological input.
        The corpora contain a handful of longer tokens (DNA primers in CRAFT and BioNLP13GE), so
        values below ~100 cost a few tokens of agreement there.
    max_sentence_tokens : `int`, optional (default = `300`)
        Longest sentence, in tokens, produced by `tokenize_sentences`/`split_sentences`. A longer
        sentence (a table flattened into text, a run-on list, text without punctuation) is cut into
        chunks: preferably after the last `;`, `,` or `:` in the second half of the window, else
        hard after `max_sentence_tokens` tokens. No sentence is therefore unbounded, which keeps
        transformer inputs (512 pieces for XLNet) and CRF decoding bounded. The corpora's longest
        test sentences have 426 tokens (CRAFT, three sentences over 300); all others stay below 262.
    newline_is_sentence_break : `bool`, optional (default = `False`)
        If `False`, a single line break is ordinary whitespace (hard-wrapped text) and only a blank
        line (or U+2029 PARAGRAPH SEPARATOR) forces a sentence break. If `True`, every line break
        ends a sentence: use it for input with one sentence, title or heading per line.
    extra_abbreviations : `List[str]`, optional (default = `None`)
        More abbreviations after which a period never ends a sentence, e.g. `["approx", "resp"]`
        (case-insensitive, with or without the final period; inner periods kept: `"i.v."`).
    """

    def __init__(
        self,
        max_token_chars: int = 50,
        max_sentence_tokens: int = 300,
        newline_is_sentence_break: bool = False,
        extra_abbreviations: Optional[List[str]] = None,
    ) -> None:
        if max_token_chars < 1:
            raise ValueError(f"max_token_chars must be >= 1, got {max_token_chars}")
        if max_sentence_tokens < 1:
            raise ValueError(f"max_sentence_tokens must be >= 1, got {max_sentence_tokens}")
        self.max_token_chars = max_token_chars
        self.max_sentence_tokens = max_sentence_tokens
        self.newline_is_sentence_break = newline_is_sentence_break
        self.extra_abbreviations = list(extra_abbreviations or [])
        self._token_re = _token_regex(max_token_chars)
        self._no_split = NO_SPLIT_ABBREVIATIONS | {
            a.lower().rstrip(".") for a in self.extra_abbreviations
        }

    # ------------------------------------------------------------------ tokens

    def tokenize(self, text: str) -> List[TextToken]:
        """Tokens of `text` with exact `start`/`end` offsets into `text`."""
        with _gc_paused(len(text)):
            return [
                TextToken(m.group(), m.start(), m.end()) for m in self._token_re.finditer(text)
            ]

    # --------------------------------------------------------------- sentences

    def sentence_boundaries(self, text: str) -> List[int]:
        """Sorted character offsets at which a new sentence may start (before chunking).

        Each offset lies in a run of separators, so it never falls inside a token.
        """
        line_re = _LINE_BREAK_RE if self.newline_is_sentence_break else _PARAGRAPH_BREAK_RE
        hard = [m.end() for m in line_re.finditer(text)]  # in increasing order
        breaks = list(hard)
        last_break = 0
        h = 0
        n = len(text)
        for m in _SENTENCE_END_RE.finditer(text):
            # The sentence containing this mark starts at the latest break before it; the
            # abbreviation and enumeration checks must not look back across it.
            while h < len(hard) and hard[h] <= m.start():
                last_break = max(last_break, hard[h])
                h += 1
            gap = _SEPARATOR_RUN_RE.match(text, m.end())
            nxt = gap.end() if gap else m.end()
            if nxt >= n:
                break  # only whitespace follows: nothing to split from
            if self._is_sentence_end(text, m.start(), nxt, last_break):
                breaks.append(nxt)
                last_break = nxt
        return sorted(set(breaks))

    def _is_sentence_end(self, text: str, punct: int, nxt: int, sentence_start: int) -> bool:
        """Decides whether the sentence-final mark at `punct` ends a sentence.

        `nxt` is the offset of the first non-separator character after it (inside `text`).
        All look-backs and look-aheads are bounded, so the splitter stays linear.
        """
        following = text[nxt]
        next_word = _next_word(text, nxt)
        upper_start = following.isupper() or following.istitle()
        sentence_like_start = (
            upper_start
            or following.isdigit()
            or following in _OPENERS
            or _starts_like_sentence_despite_lower_case(next_word)
        )
        if not sentence_like_start and not following.islower():
            return False  # "... cells. * p < 0.05": symbols rarely start a sentence
        if text[punct] != ".":
            return sentence_like_start  # ! ? and ellipsis characters
        lo = max(sentence_start, punct - _LOOKBACK)
        raw_word = _previous_word(text, lo, punct)
        word = _STRIP_OPENERS_RE.sub("", raw_word)
        if not word:
            return sentence_like_start
        key = word.lower()  # "(Fig" -> "fig"; "et al." is looked up as "al"
        if not sentence_like_start:
            # A lower-case word after a period continues the sentence after an abbreviation
            # ("E. coli", "et al. reported", "approx. five", "subsp. pallidum") but starts a new
            # one after an ordinary word ("... in the cytoplasm. c-Myc was ...", "von
            # Willebrand"). Abbreviations are short, so only a plain lower-case word of four or
            # more letters that is not a known abbreviation counts as ordinary.
            return (
                len(word) >= 4
                and word.isalpha()
                and word.islower()
                and key not in self._no_split
                and key not in CAN_END_ABBREVIATIONS
                and key not in LOWER_CASE_CONTINUATION_ABBREVIATIONS
            )
        if key in self._no_split:
            return False
        if key in CAN_END_ABBREVIATIONS:
            return upper_start and not _INITIAL_RE.match(next_word)
        if _DOTTED_ABBREVIATION_RE.match(word):
            return False  # U.S., M.S., E.C. and other letter-dot chains
        if len(word) == 1 and word.isalpha():
            if word.islower():
                return True
            # A single capital: a sentence can end with "hepatitis C." or "vitamin A.", but
            # "J. T. Bruder", "D. D. Richman", "(K. Jensen, O. Hvalby, personal communication)"
            # are initials: no split when the next word is an initial too, or when this capital
            # follows an initial, an opening bracket or a comma (lists of names).
            if _INITIAL_RE.match(next_word) or raw_word != word:
                return False
            prev_word = _previous_word(text, lo, punct - len(raw_word))
            return not (_INITIAL_RE.match(prev_word) or prev_word.endswith(","))
        # An enumeration label such as "1." / "A." / "II." at the very start of a sentence is not a
        # sentence of its own. (Bounded slice: the check only concerns the first few characters.)
        if (
            len(word) <= 3
            and word.isalnum()
            and punct - sentence_start <= 8
            and text[sentence_start:punct].strip() == word
        ):
            return False
        return True

    def tokenize_sentences(self, text: str) -> List[List[TextToken]]:
        """Sentences of `text`, each a list of tokens with offsets into the ORIGINAL `text`.

        Empty or whitespace-only input gives `[]`; every token of `tokenize(text)` is in exactly
        one sentence, in order; no sentence has more than `max_sentence_tokens` tokens.
        """
        with _gc_paused(len(text)):
            return self._tokenize_sentences(text)

    def _tokenize_sentences(self, text: str) -> List[List[TextToken]]:
        tokens = self.tokenize(text)
        if not tokens:
            return []
        starts = [t.start for t in tokens]
        # Token index at which each sentence starts; boundaries never fall inside a token.
        cuts = [0] + [bisect_left(starts, b) for b in self.sentence_boundaries(text)]
        cuts.append(len(tokens))
        out: List[List[TextToken]] = []
        for a, b in zip(cuts, cuts[1:]):
            if b > a:  # two boundaries with no token in between (e.g. "...\n\n  \n\n...")
                out.extend(self._chunk(tokens[a:b]))
        return out

    def split_sentences(self, text: str) -> List[Tuple[int, int]]:
        """Character spans `(start, end)` of the sentences of `text` (see `tokenize_sentences`).

        A span starts at its first token and ends after its last one, so it has no leading or
        trailing whitespace; spans are in order and do not overlap.

        A sentence ends after `.`, `!`, `?` or an ellipsis character (plus any closing quotes or
        brackets) followed by whitespace and then an upper-case letter, a digit, an opening
        bracket/quote, a lower-case gene-like word (`p53`, `mRNA`) or a Greek letter; after a
        period, also before any lower-case word when the word before the period is a plain
        lower-case word of four letters or more ("... in the cytoplasm. c-Myc ..."), since
        abbreviations are short; except:

        * after abbreviations (`NO_SPLIT_ABBREVIATIONS`: e.g., i.e., et al., vs., i.v., i.p., s.c.,
          Fig., Dr., approx., ca., cf., no., journal abbreviations in citations ...) and letter-dot
          chains (U.S., M.S.); after `CAN_END_ABBREVIATIONS` (etc., Inc., spp. ...) only before an
          upper-case word;
        * after a single capital that looks like an initial: next to another initial ("J. T.
          Bruder"), after an opening bracket or a comma ("(K. Jensen, O. Hvalby)"); a lower-case
          word after a single capital never splits ("E. coli", "S. cerevisiae", "M. tuberculosis");
        * inside numbers ("5.2 mg": no whitespace after the period) and after an enumeration label
          that opens a sentence ("1. Introduction").

        A blank line always splits; a single line break is whitespace unless
        `newline_is_sentence_break`. Sentences longer than `max_sentence_tokens` tokens are cut
        into chunks. Empty or whitespace-only input gives `[]`.
        """
        return [(s[0].start, s[-1].end) for s in self.tokenize_sentences(text)]

    def _chunk(self, sentence: List[TextToken]) -> List[List[TextToken]]:
        """Cuts a sentence longer than `max_sentence_tokens` into bounded chunks."""
        limit = self.max_sentence_tokens
        if len(sentence) <= limit:
            return [sentence]
        chunks = []
        start = 0
        while len(sentence) - start > limit:
            cut = start + limit  # exclusive end of a hard cut
            # Prefer cutting after a clause separator in the second half of the window, so that
            # a chunk is more likely to be a syntactic unit. Bounded search: O(limit) per chunk.
            for i in range(start + limit - 1, start + limit // 2 - 1, -1):
                if sentence[i].text in _SOFT_CUT_TOKENS:
                    cut = i + 1
                    break
            chunks.append(sentence[start:cut])
            start = cut
        chunks.append(sentence[start:])
        return chunks

    # ---------------------------------------------------------------- settings

    def settings(self) -> Dict[str, Any]:
        """The constructor arguments (JSON-serialisable): `TextTokenizer(**settings())` is the
        same tokenizer."""
        return {
            "max_token_chars": self.max_token_chars,
            "max_sentence_tokens": self.max_sentence_tokens,
            "newline_is_sentence_break": self.newline_is_sentence_break,
            "extra_abbreviations": list(self.extra_abbreviations),
        }


_SOFT_CUT_TOKENS = frozenset({";", ",", ":"})
_GC_PAUSE_MIN_CHARS = 20_000


@contextmanager
def _gc_paused(n_chars: int) -> Iterator[None]:
    """Pauses the cyclic garbage collector while a long text is tokenised.

    Creating hundreds of thousands of tokens (and sentence lists holding them) triggers the
    collector over and over, and each full pass walks every live token, although tokens never
    form reference cycles. The previous state is restored, so the caller sees no difference;
    short texts are left alone.
    """
    if n_chars < _GC_PAUSE_MIN_CHARS or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _next_word(text: str, start: int) -> str:
    """The whitespace-delimited word starting at `start` (at most `_LOOKBACK` characters)."""
    m = _SEPARATOR_RUN_RE.search(text, start, start + _LOOKBACK)
    return text[start : m.start()] if m else text[start : start + _LOOKBACK]


def _previous_word(text: str, lo: int, end: int) -> str:
    """The whitespace-delimited word ending at `end` (separators just before `end` are skipped),
    looking no further back than `lo`. Linear in `end - lo`."""
    i = end
    while i > lo and is_separator(text[i - 1]):
        i -= 1
    start = lo
    for m in _SEPARATOR_RUN_RE.finditer(text, lo, i):
        start = m.end()
    return text[start:i]


def _starts_like_sentence_despite_lower_case(word: str) -> bool:
    """Lower-case sentence starts that are common in biomedical text: gene/molecule names such as
    "p53", "mRNA", "cDNA", "siRNA", "mTOR" (a lower-case letter then a digit or a capital within
    the first letter/digit run) and Greek letters ("α-Synuclein", "β-catenin")."""
    if not word:
        return False
    first = word[0]
    if "\u03b1" <= first <= "\u03c9" or "\u0391" <= first <= "\u03a9":
        return True
    if not first.islower():
        return False
    for ch in word[1:]:
        if ch.isdigit() or ch.isupper():
            return True
        if not ch.isalpha():
            return False
    return False
