"""How closely does `TextTokenizer` reproduce the corpora's own token streams and sentences?

For every corpus folder under the data root (``--data-root``, else ``$HSL_BIONER_DATA``, else
``../shared/data/MTL-Bioinformatics-2016`` relative to the repository root), the gold sentences
of ``test.tsv`` (``TOKEN<TAB>TAG``, blank line between sentences) are detokenised into plausible
raw text, re-tokenised and re-split into sentences with the default settings, and compared with
the gold:

* token agreement: a predicted token counts when its exact character span is a gold token's span;
  precision = matched / predicted, recall = matched / gold, F1 (this is boundary F1);
* sentence tokenisation exact-match: share of gold sentences whose tokens are all reproduced with
  no extra token;
* sentence splitting: precision/recall/F1 of predicted sentence starts against gold starts (the
  first sentence excluded), and the share of gold sentences whose character span is predicted
  exactly;
* throughput of ``tokenize`` (tokens/s, MB/s) on the whole detokenised test set.

Several folders hold the same text with different tags (BC5CDR, -chem, -disease; the BioNLP11ID,
BioNLP13CG, BioNLP13PC and CRAFT families): they are evaluated once, as one row, and the overall
row counts each distinct text once.

Detokenisation choices (the figures depend on them; all are deterministic):

* tokens are separated by one space, except:
* no space before ``, . ; : ! ? % ) ] }``; no space after ``( [ {``;
* hyphen ``-``, slash ``/`` and underscore ``_`` are joined to both neighbours (``IL-2``,
  ``5-fluorouracil``, ``mg/kg``, ``Na+/K+-ATPase``): in biomedical abstracts they are almost always
  written that way; the sequence ``+ / -`` is written ``+/-`` with spaces around it;
* ``+`` is joined to a preceding letter/digit, ``)``, ``]`` or ``+`` (``Ca2+``, ``CD4+``);
* a sentence-internal ``.`` followed by a token starting with a digit is joined to both neighbours
  (``0.05``, ``E13.5``, ``PU.1``, ``q11.2``; this also yields ``Fig.1`` for ``Fig. 1``, which
  changes neither tokens nor sentence boundaries because ``Fig.`` is a known abbreviation);
  ``. x .`` with a single letter ``x`` is written ``.x.`` (``i.v.``, ``e.g.``, ``U.S.``);
* a sentence-internal ``.`` between two identifier-like tokens (each contains a digit or an
  inner capital, or is a single capital) is joined to both (``H2A.Z``, ``P3H1.CRTAP.CypB``,
  ``moPrP.XhoI``): such dotted names are written without spaces;
* ``. 001`` after ``<``, ``>``, ``=`` or ``~`` is written `` .001`` (``P < .001``); a single
  ``c``/``g``/``p``/``m``/``n``/``r`` then ``.`` then a token with a digit is joined (HGVS
  ``p.Val600Glu``, ``c.695T``); URLs (from ``http``/``https``/``ftp`` + ``:`` or ``www`` + ``.``)
  are written without spaces up to a ``.`` that precedes an upper-case word or the sentence end;
* ``,`` and ``:`` between two digit-initial/digit-final tokens are joined (``1,000``, ``1,25``,
  ``1:100``);
* ``'`` between a letter/digit and ``s``/``t``/``re``/``ve``/``ll``/``d``/``m`` is joined to both
  sides (``Alzheimer's``); after a token ending in ``s`` it is joined to the left (``Graves'``);
  otherwise ``'`` and ``"`` alternate between opening (space before, none after) and closing;
* sentences are joined by one space when they end with ``. ! ?`` (possibly followed by closing
  brackets/quotes), otherwise by a blank line: such "sentences" are titles, headings and figure
  labels, which stand on their own line in a document and which no punctuation-based splitter
  could find in running text.

Usage::

    python benchmarks/tokenization_agreement.py [--data-root DIR] [--output-md FILE]
"""
import argparse
import hashlib
import os
import platform
import sys
import time
from bisect import bisect_left
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from hsl_bioner_runtime.text import TextTokenizer

DEFAULT_DATA_ROOT = "../shared/data/MTL-Bioinformatics-2016"

Span = Tuple[int, int]

_NO_SPACE_BEFORE = frozenset(",.;:!?%)]}")
_NO_SPACE_AFTER = frozenset("([{")
_JOIN_BOTH = frozenset("-/_")
_PLUS_JOINS_AFTER = frozenset(")]+")
_CONTRACTIONS = frozenset({"s", "t", "re", "ve", "ll", "d", "m"})
_SENTENCE_FINAL = frozenset(".!?")
_COMPARATORS = frozenset("<>=~")
_HGVS_PREFIXES = frozenset("cgpmnr")
_URL_STARTS = frozenset({"http", "https", "ftp", "www"})
_URL_CHARS = frozenset("./:-_~#?=&%+")
_CLOSERS = frozenset(")]}\"'")


def read_sentences(path: Path) -> List[List[str]]:
    """Gold sentences (lists of tokens) of a ``TOKEN<TAB>TAG`` file."""
    sentences: List[List[str]] = []
    current: List[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if current:
                    sentences.append(current)
                    current = []
                continue
            current.append(line.split("\t", 1)[0])
    if current:
        sentences.append(current)
    return sentences


def _alnum(token: str) -> bool:
    return token.isalnum()


def _identifier_like(token: str) -> bool:
    """A gene/clone-like token: contains a digit or an upper-case letter after its first
    character, or is a single capital (H2A, CRTAP, XhoI, Z)."""
    if not token.isalnum():
        return False
    return (
        any(ch.isdigit() for ch in token)
        or any(ch.isupper() for ch in token[1:])
        or (len(token) == 1 and token.isupper())
    )


def _space_between(tokens: Sequence[str], i: int, quote_open: Dict[str, bool]) -> bool:
    """Whether a space goes between ``tokens[i - 1]`` and ``tokens[i]`` (see the module doc)."""
    prev, tok = tokens[i - 1], tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    before = tokens[i - 2] if i >= 2 else ""
    # "+/-" as one spaced unit.
    if tok == "+" and nxt == "/" and i + 2 < len(tokens) and tokens[i + 2] == "-":
        return True
    if prev == "-" and before == "/" and i >= 3 and tokens[i - 3] == "+":
        return True
    if tok in _JOIN_BOTH or prev in _JOIN_BOTH:
        return False
    if tok in ("'", '"'):
        if tok == "'" and _alnum(prev) and nxt.lower() in _CONTRACTIONS:
            return False
        if tok == "'" and _alnum(prev) and prev.endswith("s") and not quote_open[tok]:
            return False
        return not quote_open[tok]  # opening quote: space before; closing: none
    if prev in ("'", '"'):
        if prev == "'" and tok.lower() in _CONTRACTIONS and _alnum(before):
            return False
        # after an opening quote no space; after a closing one a space (state already toggled)
        return not quote_open[prev] and tok not in _NO_SPACE_BEFORE
    if tok == "+" and (_alnum(prev) or prev in _PLUS_JOINS_AFTER):
        return False
    if tok in (",", ":") and prev[-1:].isdigit() and nxt[:1].isdigit():
        return False
    if prev in (",", ":") and before[-1:].isdigit() and tok[:1].isdigit():
        return False
    if tok == "." and nxt[:1].isdigit() and prev in _COMPARATORS:
        return True  # "P < .001": the leading-dot decimal stays with its digits
    if prev == "." and tok[:1].isdigit() and (_alnum(before) or before in _COMPARATORS):
        return False  # 0.05, E13.5, PU.1, .001
    if prev == "." and _identifier_like(before) and _identifier_like(tok):
        return False  # H2A.Z, P3H1.CRTAP.CypB, moPrP.XhoI
    if prev == "." and before in _HGVS_PREFIXES and any(ch.isdigit() for ch in tok):
        return False  # p.Val600Glu, c.695T
    if prev == "." and len(tok) == 1 and tok.isalpha() and nxt == "." and len(before) == 1:
        return False  # i.v., e.g., U.S.
    if tok in _NO_SPACE_BEFORE or prev in _NO_SPACE_AFTER:
        return False
    return True


def _url_tokens(tokens: Sequence[str]) -> set:
    """Indices of tokens inside a URL (after its first token), which are written without spaces.

    A URL starts at ``http``/``https``/``ftp`` followed by ``:``, or at ``www`` followed by ``.``,
    and runs over letters/digits and URL punctuation; it ends before a ``.`` that is followed by an
    upper-case word or by no word (sentence end: "... from http://www.jax.org. Dotted lines").
    """
    inside = set()
    n = len(tokens)
    i = 0
    while i < n - 1:
        if tokens[i].lower() in _URL_STARTS and tokens[i + 1] in (":", "."):
            j = i + 1
            while j < n and (tokens[j].isalnum() or tokens[j] in _URL_CHARS):
                if tokens[j] == "." and (j + 1 >= n or not tokens[j + 1][:1].islower()):
                    break
                inside.add(j)
                j += 1
            i = j
        else:
            i += 1
    return inside


def detokenize_sentence(tokens: Sequence[str]) -> Tuple[str, List[Span]]:
    """Plausible raw text of one tokenised sentence and each token's span in it."""
    parts: List[str] = []
    spans: List[Span] = []
    quote_open = {"'": False, '"': False}
    url = _url_tokens(tokens)
    pos = 0
    for i, tok in enumerate(tokens):
        if i > 0 and i not in url and _space_between(tokens, i, quote_open):
            parts.append(" ")
            pos += 1
        spans.append((pos, pos + len(tok)))
        parts.append(tok)
        pos += len(tok)
        if tok in quote_open:
            is_contraction = (
                tok == "'"
                and i > 0
                and _alnum(tokens[i - 1])
                and (
                    (i + 1 < len(tokens) and tokens[i + 1].lower() in _CONTRACTIONS)
                    or (tokens[i - 1].endswith("s") and not quote_open[tok])
                )
            )
            if not is_contraction:
                quote_open[tok] = not quote_open[tok]
    return "".join(parts), spans


def _ends_sentence(tokens: Sequence[str]) -> bool:
    i = len(tokens) - 1
    while i > 0 and tokens[i] in _CLOSERS:
        i -= 1
    return tokens[i] in _SENTENCE_FINAL


def detokenize_corpus(sentences: Sequence[Sequence[str]]) -> Tuple[str, List[Span], List[Span]]:
    """One text for a whole corpus: gold token spans and gold sentence spans into it."""
    parts: List[str] = []
    token_spans: List[Span] = []
    sentence_spans: List[Span] = []
    pos = 0
    for k, sentence in enumerate(sentences):
        if k > 0:
            sep = " " if _ends_sentence(sentences[k - 1]) else "\n\n"
            parts.append(sep)
            pos += len(sep)
        text, spans = detokenize_sentence(sentence)
        parts.append(text)
        token_spans.extend((pos + s, pos + e) for s, e in spans)
        sentence_spans.append((pos, pos + len(text)))
        pos += len(text)
    return "".join(parts), token_spans, sentence_spans


def _prf(matched: int, predicted: int, gold: int) -> Tuple[float, float, float]:
    p = matched / predicted if predicted else 1.0
    r = matched / gold if gold else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def evaluate(sentences: List[List[str]], tokenizer: TextTokenizer) -> Dict[str, float]:
    """Raw counts for one corpus (combined into rates by `rates`)."""
    text, gold_tokens, gold_sentences = detokenize_corpus(sentences)
    start = time.perf_counter()
    predicted = tokenizer.tokenize(text)
    tokenize_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predicted_sentences = tokenizer.split_sentences(text)
    split_seconds = time.perf_counter() - start

    pred_spans = [(t.start, t.end) for t in predicted]
    pred_set = set(pred_spans)
    gold_set = set(gold_tokens)
    pred_starts = [s for s, _ in pred_spans]

    # Sentence-level tokenisation exact match: all gold tokens of the sentence reproduced and no
    # other predicted token inside the sentence's span.
    exact_tok_sentences = 0
    g = 0
    for s_start, s_end in gold_sentences:
        g_end = bisect_left(gold_tokens, (s_end, s_end), lo=g)
        n_gold = g_end - g
        ok = all(span in pred_set for span in gold_tokens[g:g_end])
        n_pred = bisect_left(pred_starts, s_end) - bisect_left(pred_starts, s_start)
        exact_tok_sentences += ok and n_pred == n_gold
        g = g_end

    gold_bounds = {s for s, _ in gold_sentences[1:]}
    pred_bounds = {s for s, _ in predicted_sentences[1:]}
    return {
        "sentences": len(gold_sentences),
        "gold_tokens": len(gold_tokens),
        "pred_tokens": len(pred_spans),
        "matched_tokens": len(pred_set & gold_set),
        "exact_tok_sentences": exact_tok_sentences,
        "gold_bounds": len(gold_bounds),
        "pred_bounds": len(pred_bounds),
        "matched_bounds": len(gold_bounds & pred_bounds),
        "exact_split_sentences": len(set(gold_sentences) & set(predicted_sentences)),
        "chars": len(text),
        "tokenize_seconds": tokenize_seconds,
        "split_seconds": split_seconds,
    }


def rates(c: Dict[str, float]) -> Dict[str, float]:
    tp, tr, tf = _prf(c["matched_tokens"], c["pred_tokens"], c["gold_tokens"])
    sp, sr, sf = _prf(c["matched_bounds"], c["pred_bounds"], c["gold_bounds"])
    return {
        "tok_p": tp,
        "tok_r": tr,
        "tok_f": tf,
        "sent_tok_exact": c["exact_tok_sentences"] / c["sentences"],
        "split_p": sp,
        "split_r": sr,
        "split_f": sf,
        "split_exact": c["exact_split_sentences"] / c["sentences"],
        "tokens_per_s": c["pred_tokens"] / c["tokenize_seconds"],
        "mb_per_s": c["chars"] / c["tokenize_seconds"] / 1e6,
    }


def _row(name: str, folders: str, c: Dict[str, float]) -> str:
    r = rates(c)
    pct = "{:.2f}".format
    return (
        f"| {name} | {folders} | {int(c['sentences'])} | {int(c['gold_tokens'])} | "
        f"{pct(100 * r['tok_p'])} | {pct(100 * r['tok_r'])} | {pct(100 * r['tok_f'])} | "
        f"{pct(100 * r['sent_tok_exact'])} | {pct(100 * r['split_p'])} | "
        f"{pct(100 * r['split_r'])} | {pct(100 * r['split_f'])} | "
        f"{pct(100 * r['split_exact'])} | {r['tokens_per_s'] / 1e3:.0f}k |"
    )


def resolve_data_root(arg: Optional[str]) -> Path:
    """--data-root, else $HSL_BIONER_DATA, else the default. A relative path that does not exist
    from the working directory is also tried from the repository root (importing `hsl_bioner`
    sets $HSL_BIONER_DATA to the relative default when it is unset)."""
    root = Path(arg or os.environ.get("HSL_BIONER_DATA") or DEFAULT_DATA_ROOT)
    if not root.is_dir() and not root.is_absolute():
        from_repo = Path(__file__).resolve().parent.parent / root
        if from_repo.is_dir():
            root = from_repo
    if not root.is_dir():
        sys.exit(
            f"Data root {root} not found. Pass --data-root DIR or set HSL_BIONER_DATA to the "
            "MTL-Bioinformatics-2016 folder (one sub-folder per corpus, each with test.tsv)."
        )
    return root


def main(argv: Optional[List[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=None, help="folder of corpus folders")
    parser.add_argument("--output-md", default=None, help="also write the table to this file")
    args = parser.parse_args(argv)
    root = resolve_data_root(args.data_root)
    folders = sorted(p for p in root.iterdir() if (p / "test.tsv").is_file())
    if not folders:
        sys.exit(f"No <corpus>/test.tsv under {root}.")

    tokenizer = TextTokenizer()
    tokenizer.tokenize("warm-up")
    groups: Dict[str, List[str]] = {}
    results: Dict[str, Dict[str, float]] = {}
    for folder in folders:
        sentences = read_sentences(folder / "test.tsv")
        digest = hashlib.sha1("\n".join(" ".join(s) for s in sentences).encode()).hexdigest()
        groups.setdefault(digest, []).append(folder.name)
        if digest not in results:
            results[digest] = evaluate(sentences, tokenizer)

    lines = [
        "| corpus (test.tsv) | folders with this text | sentences | gold tokens | tok P | tok R "
        "| tok F1 | sent. tokens exact | split P | split R | split F1 | split exact | tokens/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    total: Dict[str, float] = {}
    for digest, names in groups.items():
        names = sorted(names, key=len)
        label = names[0].removesuffix("-IOB")
        others = ", ".join(n.removesuffix("-IOB") for n in names[1:]) or "-"
        lines.append(_row(label, others, results[digest]))
        for key, value in results[digest].items():
            total[key] = total.get(key, 0) + value
    lines.append(_row("**overall** (distinct texts)", f"{len(groups)} texts", total))
    table = "\n".join(lines)
    print(table)
    r = rates(total)
    print(
        f"\nTokenize: {r['tokens_per_s']:.0f} tokens/s, {r['mb_per_s']:.2f} MB/s; "
        f"tokenize + split sentences: "
        f"{total['chars'] / total['split_seconds'] / 1e6:.2f} MB/s "
        f"({platform.python_implementation()} {platform.python_version()}, {platform.machine()})"
    )
    if args.output_md:
        Path(args.output_md).write_text(table + "\n", encoding="utf-8")
    return table


if __name__ == "__main__":
    main()
