"""Tests of hsl_bioner_runtime.formats.writers: JSON lines, CoNLL and PubTator, on messy text.

PubTator output is read back with an independent parser, the `bioc` package."""
import json
import unicodedata
from typing import Dict, List
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hsl_bioner_runtime.entities import document_record
from hsl_bioner_runtime.formats.writers import (
    LINE_BREAKS,
    RECORD_FORMATS,
    document_id,
    format_record,
    pubtator_passages,
    to_conll,
    to_json,
    to_pubtator,
)
from hsl_bioner_runtime.text import TextTokenizer

TOKENIZER = TextTokenizer()
# Tokens tagged as (parts of) entities by `_record`: consecutive ones form one entity, so that
# entities cross line breaks, tabs and "|" as well. (ruff's B033 takes the two surrogates for one.)
ENTITY_WORDS = {"colorectal", "cancer", "APC", "|", "\ud800", "\udc00", "\U0001f600", "tumour"}  # noqa: B033

MESSY_TEXTS = [
    "Mutations in APC cause colorectal cancer.",
    "Colorectal cancer\tand APC\ttabs.",
    "A title with colorectal cancer\nThe abstract: APC mutations.",
    "A CRLF title\r\nAbstract on colorectal\r\ncancer.",
    "Lone CR title\rabstract tumour\r\rafter two.",
    "Trailing spaces in the title APC  \t\nAbstract",
    "Breaks\u2028and\x0bvertical\x0ctabs\x85next\u2029colorectal\x1ccancer",
    "Pipes | in text: APC|t|cancer and |a| too",
    "",
    "   \t ",
    "\n\nabstract after an empty title: APC",
    "lone \ud800 colorectal cancer",
    "reversed \udc00\ud800 pair cancer",
    "non-BMP \U0001f600 tumour \U0001d400 APC",
    "colorectal\ncancer crosses the title line",
]
IDS = ["PMID1", None, "with|pipe", "tab\there", "new\nline", "", 7, "100%", "cr\rid"]


def _tags(tokens) -> List[str]:
    tags = []
    for i, token in enumerate(tokens):
        inside = token.text in ENTITY_WORDS
        continues = inside and i > 0 and tokens[i - 1].text in ENTITY_WORDS
        tags.append(("I-" if continues else "B-") + "Disease" if inside else "O")
    return tags


def _record(text: str, doc_id=None, tasks=("disease_a", "disease_b")) -> Dict:
    """A record as a tagger makes it: real tokens and sentences, tags from ENTITY_WORDS."""
    sentences = TOKENIZER.tokenize_sentences(text)
    tagged = [
        {task: (_tags(tokens), [0.5 + 0.1 * i for i in range(len(tokens))]) for task in tasks}
        for tokens in sentences
    ]
    document = {"text": text} if doc_id is None else {"id": doc_id, "text": text}
    return document_record(document, sentences, tagged, "BIO", merge="none")


def _records() -> List[Dict]:
    """The messy texts, the first ones with the messy ids, the others without an id."""
    ids = IDS + [None] * (len(MESSY_TEXTS) - len(IDS))
    return [_record(text, doc_id) for text, doc_id in zip(MESSY_TEXTS, ids)]


# ----------------------------------------------------------------------------------- JSON


def test_json_lines_escape_lone_surrogates_and_read_back_exactly(tmp_path):
    records = _records()
    path = tmp_path / "out.jsonl"
    with open(path, "w", encoding="utf-8") as sink:  # strict UTF-8: raw surrogates would fail
        for record in records:
            sink.write(to_json(record))
    written = path.read_text(encoding="utf-8")
    assert written.count("\n") == len(records)
    assert "\\ud800" in written and "\\udc00\\ud800" in written
    assert "\\u2028" in written and "\\u0085" in written  # so that splitlines() keeps records
    assert "\U0001f600" in written  # other characters are written as they are
    back = [json.loads(line) for line in written.splitlines()]
    assert back == records
    for record in back:
        for entity in record["entities"]:
            assert record["text"][entity["start"] : entity["end"]] == entity["text"]


# ---------------------------------------------------------------------------------- CoNLL


def test_conll_marks_every_document_and_maps_back_to_the_records(tmp_path):
    records = _records()
    path = tmp_path / "out.conll"
    with open(path, "w", encoding="utf-8") as sink:
        for number, record in enumerate(records, start=1):
            sink.write(to_conll(record, default_id=number))
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and "\r" not in "".join(lines)
    # Read it back: documents at their "# newdoc id = " lines, sentences at blank lines.
    documents: List[Dict] = []
    for line in lines[:-1]:
        if line.startswith("# newdoc id = "):
            documents.append({"id": line[len("# newdoc id = ") :], "sentences": [[]]})
        elif line:
            documents[-1]["sentences"][-1].append(line.split("\t"))
        else:
            documents[-1]["sentences"].append([])
    assert len(documents) == len(records)
    for number, (document, record) in enumerate(zip(documents, records), start=1):
        assert document["sentences"][-1] == []  # the document's last line ends a sentence
        sentences = document["sentences"][:-1]
        assert len(sentences) == len(record["sentences"])
        expected_id = record.get("id") if record.get("id") not in (None, "") else number
        assert unquote(document["id"], errors="surrogatepass") == str(expected_id)
        for rows, sentence in zip(sentences, record["sentences"]):
            assert len(rows) == len(sentence["tokens"])
            for row, (token, start, end), *tags in zip(rows, sentence["tokens"],
                                                        *sentence["tags"].values()):
                assert row == [_replaced(token), str(start), str(end), *tags]
                assert _replaced(record["text"][start:end]) == row[0]
    # The empty and blank documents are their header lines alone.
    empty = [d for d, r in zip(documents, records) if not r["text"].strip()]
    assert len(empty) == 2 and all(d["sentences"] == [[]] for d in empty)


def test_conll_header_of_a_document_without_sentences():
    assert to_conll({"text": "", "entities": [], "sentences": []}, default_id=3) == (
        "# newdoc id = 3\n"
    )
    assert to_conll(_record("APC.", doc_id="d 1"), default_id=3) == (
        "# newdoc id = d%201\nAPC\t0\t3\tB-Disease\tB-Disease\n.\t3\t4\tO\tO\n\n"
    )


def _replaced(text: str) -> str:
    """The documented one-for-one replacements of the line formats (without PubTator's "|")."""
    return "".join(
        "\ufffd" if unicodedata.category(c) == "Cs" else " " if c in LINE_BREAKS + "\t" else c
        for c in text
    )


# ------------------------------------------------------------------------------- PubTator


def test_pubtator_is_read_back_by_bioc(tmp_path):
    bioc_pubtator = pytest.importorskip("bioc.pubtator")
    records = _records()
    path = tmp_path / "out.pubtator"
    with open(path, "w", encoding="utf-8") as sink:
        for number, record in enumerate(records, start=1):
            sink.write(to_pubtator(record, default_id=number))
    content = path.read_text(encoding="utf-8")
    assert "\r" not in content
    lines = content.split("\n")
    # Every line is a title, an abstract, an annotation of six fields or a document break.
    for line in lines:
        assert line == "" or "|t|" in line or "|a|" in line or len(line.split("\t")) == 6, line
    assert sum("|t|" in line for line in lines) == len(records)
    ids = [line.split("|t|")[0] for line in lines if "|t|" in line]
    assert len(set(ids)) == len(ids), ids  # unique, the defaults included

    with open(path, encoding="utf-8") as source:
        documents = bioc_pubtator.load(source)
    # bioc drops documents whose title and abstract are both empty (here: the empty and the
    # blank text, which have no entities); every other one comes back, in order.
    kept = [
        (number, r)
        for number, r in enumerate(records, start=1)
        if _pubtator_replaced(r["text"]).strip()
    ]
    assert len(kept) == len(records) - 2
    assert len(documents) == len(kept)
    for document, (number, record) in zip(documents, kept):
        expected_id = record.get("id") if record.get("id") not in (None, "") else number
        assert unquote(document.pmid, errors="surrogatepass") == str(expected_id)
        _check_pubtator_document(document, record)


def _check_pubtator_document(document, record) -> None:
    """bioc's reading of one document against the record it was written from."""
    text = record["text"]
    written = document.title + " " + (document.abstract or "")
    # Offsets count over title + " " + abstract: the same text, character for character, but for
    # the documented replacements (bioc strips lines, so trailing whitespace may be missing).
    expected = _pubtator_replaced(text)
    kept = written.rstrip()
    assert _alike(kept, expected[: len(kept)]) and not expected[len(kept) :].strip()
    assert [(a.start, a.end, a.type, a.id) for a in document.annotations] == [
        (e["start"], e["end"], e["type"], e["task"]) for e in record["entities"]
    ]
    for annotation, entity in zip(document.annotations, record["entities"]):
        assert written[annotation.start : annotation.end] == annotation.text
        assert _alike(annotation.text, _pubtator_replaced(entity["text"]))
        assert text[entity["start"] : entity["end"]] == entity["text"]


def _pubtator_replaced(text: str) -> str:
    return _replaced(text).replace("|", "\u00a6")


def _alike(written: str, expected: str) -> bool:
    """Equal, but for the whitespace character that stands between title and abstract, which
    PubTator readers take as one space whatever the text had there."""
    return len(written) == len(expected) and all(
        w == e or (w.isspace() and e.isspace()) for w, e in zip(written, expected)
    )


def test_pubtator_title_and_abstract_rules():
    # One line: all title. A line break: first line = title, the rest = abstract.
    assert pubtator_passages("Colorectal cancer.") == ("Colorectal cancer.", "")
    assert pubtator_passages("Title\nAbstract") == ("Title", "Abstract")
    # "\r\n" is two characters: the second is a space at the start of the abstract.
    assert pubtator_passages("Title\r\nAbstract") == ("Title", " Abstract")
    # Trailing whitespace of the first line goes to the abstract (readers strip their lines).
    assert pubtator_passages("Title \u00a0\nAbstract") == ("Title", "\u00a0 Abstract")
    assert pubtator_passages("") == ("", "")
    assert pubtator_passages("\n") == ("", "")
    assert pubtator_passages("a|b\tc\rd\ud800") == ("a\u00a6b c", "d\ufffd")
    block = to_pubtator(_record("A title\r\nAPC and colorectal\ncancer."), default_id=5)
    assert block == (
        "5|t|A title\n"
        "5|a| APC and colorectal cancer.\n"
        "5\t9\t12\tAPC\tDisease\tdisease_a\n"
        "5\t9\t12\tAPC\tDisease\tdisease_b\n"
        "5\t17\t34\tcolorectal cancer\tDisease\tdisease_a\n"
        "5\t17\t34\tcolorectal cancer\tDisease\tdisease_b\n"
        "\n"
    )


def test_pubtator_rejects_an_entity_that_is_not_the_text_at_its_offsets():
    record = _record("APC gene")
    record["entities"][0]["end"] += 1
    with pytest.raises(ValueError, match="not the text there"):
        to_pubtator(record, default_id=1)


# Text that exercises the rules: line breaks of every kind, tabs, pipes, surrogates.
_PIECES = st.sampled_from(
    ["\n", "\r", "\r\n", "\t", " ", "  ", "\u00a0", "\u2028", "\x0b", "\x1f", "|", "|t|", "|a|",
     "\ud800", "\udc00", "\U0001f600", "colorectal", "cancer", "APC", "tumour", "x", ".", "Z"]
)  # fmt: skip
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=3)), max_size=30).map("".join)
_ID = st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["a|b", "\ud800", "%7C"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.tuples(_TEXT, _ID), min_size=1, max_size=4))
@example(texts=[("colorectal\r\n\r\ncancer", None), ("", ""), ("APC", "x\ny")])
def test_pubtator_round_trip_through_bioc_on_random_text(texts):
    bioc_pubtator = pytest.importorskip("bioc.pubtator")
    records = [_record(text, doc_id) for text, doc_id in texts]
    written = "".join(to_pubtator(r, default_id=n) for n, r in enumerate(records, start=1))
    written.encode("utf-8")  # strict: no lone surrogate is written
    documents = bioc_pubtator.loads(written)
    # bioc drops a document whose title and abstract are both blank after stripping.
    kept = [(n, r) for n, r in enumerate(records, start=1) if _pubtator_replaced(r["text"]).strip()]
    assert len(documents) == len(kept)
    for document, (number, record) in zip(documents, kept):
        assert document.pmid == document_id(record, number)
        _check_pubtator_document(document, record)


# ---------------------------------------------------------------------------- ids, dispatch


@pytest.mark.parametrize(
    "doc_id, written",
    [
        ("PMID1", "PMID1"),
        (7, "7"),
        (None, "12"),
        ("", "12"),
        ("PMID 1|a", "PMID%201%7Ca"),
        ("tab\there", "tab%09here"),
        ("new\nline\r", "new%0Aline%0D"),
        ("100%", "100%25"),
        ("\ud800x", "%ED%A0%80x"),
        ("\u00e9\U0001f600", "\u00e9\U0001f600"),
    ],
)
def test_document_ids(doc_id, written):
    record = {"text": "", "entities": [], "sentences": []}
    if doc_id is not None:
        record["id"] = doc_id
    assert document_id(record, default_id=12) == written
    original = str(doc_id) if doc_id not in (None, "") else "12"
    assert unquote(written, errors="surrogatepass") == original
    with pytest.raises(ValueError, match="non-empty default id"):
        document_id({"text": ""}, default_id="")


def test_format_record_dispatches_and_rejects_unknown_formats():
    record = _record("APC mutations", doc_id=None)
    assert RECORD_FORMATS == ("json", "conll", "pubtator")
    assert format_record(record, "json", default_id=4) == to_json(record)
    assert format_record(record, "conll", default_id=4) == to_conll(record, default_id=4)
    assert format_record(record, "pubtator", default_id=4) == to_pubtator(record, default_id=4)
    with pytest.raises(ValueError, match="output format must be one of json, conll, pubtator"):
        format_record(record, "bioc", default_id=4)
