"""Tests of hsl_bioner_runtime.formats.documents: the document model, its text layout and its
sentences."""
import pytest

from hsl_bioner_runtime.formats.documents import (
    MAX_GAP,
    Annotation,
    Document,
    DocumentError,
    Passage,
    document_sentences,
)
from hsl_bioner_runtime.text import TextTokenizer

TOKENIZER = TextTokenizer()


def test_passages_are_placed_at_their_offsets_and_gaps_are_spaces():
    passages = [
        Passage(0, "BRCA1 and cancer", {"type": "title"}),
        Passage(20, "Breast cancer risk.", {"type": "abstract"}),
        Passage(39, ""),  # empty, where the previous one ends
        Passage(45, "α-synuclein \U0001f600 here"),
    ]
    document = Document.from_passages("D1", passages)
    assert document.text == (
        "BRCA1 and cancer" + " " * 4 + "Breast cancer risk." + " " * 6
        + "α-synuclein \U0001f600 here"
    )
    for passage in passages:
        assert document.text[passage.offset : passage.end] == passage.text
    # Annotations at BioC offsets are the text there.
    annotated = Document.from_passages(
        "D1", passages, [Annotation(((20, 33),), "Breast cancer", "Disease")]
    )
    assert annotated.text[20:33] == "Breast cancer"


def test_a_passage_may_start_late_but_not_absurdly_late():
    assert Document.from_passages("x", [Passage(3, "abc")]).text == "   abc"
    assert len(Document.from_passages("x", [Passage(MAX_GAP, "a")]).text) == MAX_GAP + 1
    with pytest.raises(DocumentError, match=r"document 'x', passage 0 at offset 1000001 leaves"):
        Document.from_passages("x", [Passage(MAX_GAP + 1, "a")])


@pytest.mark.parametrize(
    "passages, message",
    [
        ([Passage(0, "abcdef"), Passage(3, "xyz", {"type": "abstract"})],
         r"document 'P7', passage 1 \(abstract\) starts at 3, before the end of passage 0 \(0-6\)"),
        ([Passage(10, "later"), Passage(0, "earlier")],
         r"document 'P7', passage 1 starts at 0, before the end of passage 0 \(10-15\)"),
        ([Passage(-1, "negative")], r"document 'P7', passage 0: a passage needs a non-negative"),
        ([Passage(True, "bool")], r"passage 0: a passage needs a non-negative integer offset"),
        ([Passage("3", "string offset")], r"passage 0: a passage needs a non-negative integer"),
    ],
)
def test_overlapping_decreasing_or_invalid_offsets_name_the_document_and_passage(
    passages, message
):
    with pytest.raises(DocumentError, match=message) as caught:
        Document.from_passages("P7", passages)
    assert caught.value.passage == len(passages) - 1


@pytest.mark.parametrize(
    "annotation, message",
    [
        (Annotation(((0, 5),), "Brest", "Disease"), r"annotation 0 \('Brest'\) at 0-5 is not the"),
        (Annotation(((3, 3),), "", "Disease"), r"at 3-3 is not a non-empty span"),
        (Annotation(((20, 99),), "x", "Disease"), r"at 20-99 is not a non-empty span of the"),
        (Annotation((), "x", "Disease"), r"has no location"),
    ],
)
def test_kept_annotations_must_be_the_text_at_their_offsets(annotation, message):
    with pytest.raises(DocumentError, match=message) as caught:
        Document.from_passages("D", [Passage(0, "Breast cancer")], [annotation])
    assert caught.value.annotation == 0


def test_a_discontinuous_annotation_is_not_compared_with_one_span():
    document = Document.from_passages(
        "D",
        [Passage(0, "breast and ovarian cancer")],
        [Annotation(((0, 6), (19, 25)), "breast cancer", "Disease")],
    )
    assert (document.annotations[0].start, document.annotations[0].end) == (0, 25)


def test_json_round_trip_and_checks_of_passages_against_the_text():
    document = Document.from_passages(
        "PMID1",
        [Passage(0, "Title", {"type": "title"}), Passage(6, "Abstract.", {"type": "abstract"})],
        [Annotation(((6, 14),), "Abstract", "Thing", None, {"identifier": "X:1"})],
    )
    value = document.to_json()
    assert value["text"] == "Title Abstract."
    assert value["passages"][1] == {
        "offset": 6, "text": "Abstract.", "infons": {"type": "abstract"}
    }
    assert value["annotations"][0]["locations"] == [[6, 14]]
    assert Document.from_json(value, annotations=True) == document
    assert Document.from_json(value).annotations is None  # not asked for
    # No passages: one passage of the whole text; no id: None.
    plain = Document.from_json({"text": "Just text."})
    assert plain.id is None and plain.passages == (Passage(0, "Just text."),)
    assert "id" not in plain.to_json()
    # Passages that are not the text at their offsets.
    with pytest.raises(DocumentError, match=r"document 'PMID1', passage 1 \(abstract\) is not"):
        Document.from_json({**value, "text": "Title Abstrac!."})
    with pytest.raises(DocumentError, match="'passages' must be a list"):
        Document.from_json({"text": "x", "passages": "x"})
    with pytest.raises(DocumentError, match="needs a string 'text'"):
        Document.from_json({"passages": []})
    with pytest.raises(DocumentError, match=r"annotation 0: an annotation location is a \[start"):
        Document.from_json({"text": "x", "annotations": [{"locations": [[0]]}]}, annotations=True)


def test_characters_outside_every_passage_are_allowed_in_json_input():
    document = Document.from_json(
        {"text": "Title\nAbstract", "passages": [{"offset": 0, "text": "Title"},
                                               {"offset": 6, "text": "Abstract"}]}
    )
    assert document.text == "Title\nAbstract"


def test_sentences_never_cross_a_passage_boundary_and_carry_document_offsets():
    # The title has no final period: split as one text, it would run into the abstract.
    document = Document.from_passages(
        "D",
        [
            Passage(0, "Mutations of APC in colorectal cancer", {"type": "title"}),
            Passage(38, "We studied 12 families. All had polyps.", {"type": "abstract"}),
            Passage(100, "A gap before this one"),
        ],
    ).to_json()
    as_one_text = TOKENIZER.tokenize_sentences(document["text"])
    assert as_one_text[0][-1].end > 38  # (what the passages prevent)
    sentences = document_sentences(TOKENIZER, document)
    assert [(s[0].start, s[-1].end) for s in sentences] == [(0, 37), (38, 61), (62, 77), (100, 121)]
    for sentence in sentences:
        for token in sentence:
            assert document["text"][token.start : token.end] == token.text
    # Without passages: the text as one passage, exactly as the tokenizer splits it.
    assert document_sentences(TOKENIZER, {"text": document["text"]}) == as_one_text


def test_passage_at_finds_the_passage_that_holds_a_span():
    document = Document.from_passages(
        "D", [Passage(0, "abc"), Passage(4, ""), Passage(4, "defg"), Passage(9, "")]
    )
    assert document.passage_at(0, 3) == 0
    assert document.passage_at(4, 6) == 2
    assert document.passage_at(2, 5) is None  # across passages
    assert document.passage_at(3, 4) is None  # in the gap
