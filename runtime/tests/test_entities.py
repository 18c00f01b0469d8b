"""Tests of hsl_bioner_runtime.entities: spans to entities, merge rules, document records."""
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hsl_bioner_runtime.entities import (
    MERGE_RULES,
    document_record,
    merge_entities,
    sentence_entities,
    sentence_record,
)
from hsl_bioner_runtime.text import TextTokenizer

TEXT = "Lone \ud800 colorectal cancer and APC \U0001f600.\n\nFamilial adenomatous polyposis."


def _sentences():
    sentences = TextTokenizer().tokenize_sentences(TEXT)
    assert [[t.text for t in s] for s in sentences] == [
        ["Lone", "\ud800", "colorectal", "cancer", "and", "APC", "\U0001f600", "."],
        ["Familial", "adenomatous", "polyposis", "."],
    ]
    return sentences


def _tagged():
    return [
        {
            "a": (["O", "O", "B-Disease", "I-Disease", "O", "B-Gene", "O", "O"],
                  [0.9, 0.8, 0.7, 0.6, 0.9, 0.55556, 1.0, 1.0]),
            "b": (["O", "B-Disease", "I-Disease", "I-Disease", "O", "O", "O", "O"],
                  [1.0, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0]),
        },
        {
            "a": (["B-Disease", "I-Disease", "I-Disease", "O"], [0.9, 0.9, 0.6, 1.0]),
            "b": (["B-Disease", "I-Disease", "I-Disease", "O"], [0.8, 0.8, 0.8, 1.0]),
        },
    ]  # fmt: skip


def test_sentence_entities_offsets_and_mean_marginal_scores():
    sentence = _sentences()[0]
    entities = sentence_entities(TEXT, sentence, _tagged()[0], "BIO")
    assert entities == [
        {"start": 7, "end": 24, "text": "colorectal cancer", "type": "Disease", "task": "a",
         "score": 0.65},
        {"start": 29, "end": 32, "text": "APC", "type": "Gene", "task": "a", "score": 0.5556},
        {"start": 5, "end": 24, "text": "\ud800 colorectal cancer", "type": "Disease",
         "task": "b", "score": 0.75},
    ]  # fmt: skip
    for entity in entities:
        assert TEXT[entity["start"] : entity["end"]] == entity["text"]


def test_sentence_entities_read_the_given_scheme():
    sentence = TextTokenizer().tokenize("APC gene mutations")
    tagged = {"a": (["U-Gene", "B-Gene", "L-Gene"], [0.5, 1.0, 0.5])}
    assert [(e["text"], e["score"]) for e in sentence_entities("APC gene mutations", sentence,
                                                               tagged, "BIOUL")] == [
        ("APC", 0.5), ("gene mutations", 0.75),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "tagged",
    [
        {"a": (["O", "B-Disease"], [1.0, 1.0])},  # fewer tags than tokens
        {"a": (["O", "B-Disease", "I-Disease"], [1.0, 1.0])},  # fewer probabilities
    ],
)
def test_counts_that_do_not_match_the_tokens_raise(tagged):
    tokens = TextTokenizer().tokenize("colorectal cancer risk")
    with pytest.raises(ValueError, match="for 3 tokens"):
        sentence_entities("colorectal cancer risk", tokens, tagged, "BIO")


def test_sentence_record():
    sentence = _sentences()[1]
    assert sentence_record(sentence, _tagged()[1]) == {
        "start": 37,
        "end": 68,
        "tokens": [["Familial", 37, 45], ["adenomatous", 46, 57], ["polyposis", 58, 67],
                   [".", 67, 68]],
        "tags": {"a": ["B-Disease", "I-Disease", "I-Disease", "O"],
                 "b": ["B-Disease", "I-Disease", "I-Disease", "O"]},
    }  # fmt: skip


def test_document_record_passes_input_keys_through_and_merges():
    document = {"id": "PMID1", "text": TEXT, "source": {"journal": "X"}}
    record = document_record(document, _sentences(), _tagged(), "BIO", merge="none")
    assert list(record) == ["id", "text", "source", "entities", "sentences"]
    assert record["id"] == "PMID1" and record["source"] == {"journal": "X"}
    assert len(record["sentences"]) == 2
    assert [(e["text"], e["task"]) for e in record["entities"]] == [
        ("\ud800 colorectal cancer", "b"),
        ("colorectal cancer", "a"),
        ("APC", "a"),
        ("Familial adenomatous polyposis", "a"),
        ("Familial adenomatous polyposis", "b"),
    ]
    merged = document_record(document, _sentences(), _tagged(), "BIO")  # merge="type"
    assert [(e["text"], e["task"], e["tasks"]) for e in merged["entities"]] == [
        ("\ud800 colorectal cancer", "b", ["b"]),
        ("APC", "a", ["a"]),
        ("Familial adenomatous polyposis", "a", ["a", "b"]),
    ]
    # The record is plain JSON: it survives a round trip unchanged (lone surrogate included).
    assert json.loads(json.dumps(record)) == record
    assert document == {"id": "PMID1", "text": TEXT, "source": {"journal": "X"}}  # not modified


def test_document_record_of_an_empty_document():
    assert document_record({"text": "  "}, [], [], "BIO") == {
        "text": "  ",
        "entities": [],
        "sentences": [],
    }


def test_document_record_rejects_bad_input():
    with pytest.raises(ValueError, match="string 'text'"):
        document_record({"id": 1}, [], [], "BIO")
    with pytest.raises(ValueError, match="2 sentences but 1 tagged"):
        document_record({"text": TEXT}, _sentences(), _tagged()[:1], "BIO")


def test_merge_rules():
    def entity(start, end, task, score, type_="Disease"):
        return {"start": start, "end": end, "type": type_, "task": task, "score": score, "text": ""}

    found = [
        entity(0, 10, "a", 0.9),
        entity(0, 10, "b", 0.7),  # same span and type as the first
        entity(5, 20, "b", 0.8),  # overlaps the first, same type
        entity(5, 9, "c", 0.99, type_="Gene"),  # overlaps, other type
        entity(30, 40, "b", 0.5),
    ]
    assert len(merge_entities(found, "none")) == 5
    exact = merge_entities(found, "exact")
    assert len(exact) == 4
    assert exact[0]["task"] == "a" and exact[0]["tasks"] == ["a", "b"] and exact[0]["score"] == 0.9
    by_type = merge_entities(found, "type")
    assert [(e["start"], e["end"], e["type"]) for e in by_type] == [
        (0, 10, "Disease"),
        (5, 9, "Gene"),
        (30, 40, "Disease"),
    ]


_SPANS = st.lists(
    st.tuples(
        st.integers(0, 60),
        st.integers(1, 15),
        st.sampled_from(["Disease", "Gene"]),
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from([0.5, 0.7, 0.9, 1.0]),
    ),
    max_size=40,
)


@given(_SPANS)
def test_merge_by_type_keeps_what_the_greedy_pairwise_rule_keeps(spans):
    """The bisection in merge_entities("type") against the plain rule: most confident first
    (ties: longer, then earlier), dropping any span that overlaps a kept one of its type."""
    found = [
        {"start": s, "end": s + n, "type": t, "task": task, "score": score, "text": ""}
        for s, n, t, task, score in spans
    ]
    kept = []
    for entity in sorted(
        merge_entities(found, "exact"),
        key=lambda e: (-e["score"], e["start"] - e["end"], e["start"]),
    ):
        if not any(
            k["type"] == entity["type"]
            and k["start"] < entity["end"]
            and entity["start"] < k["end"]
            for k in kept
        ):
            kept.append(entity)
    expected = sorted(kept, key=lambda e: (e["start"], -e["end"], e["type"], e["task"]))
    assert merge_entities(found, "type") == expected


def test_unknown_merge_rule_is_rejected():
    assert MERGE_RULES == ("type", "exact", "none")
    with pytest.raises(ValueError, match="merge must be one of type, exact, none"):
        merge_entities([], "some")
