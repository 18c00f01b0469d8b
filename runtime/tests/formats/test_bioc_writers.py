"""Tests of the document writers (`document_writer`): BioC XML and BioC JSON, and PubTator from
documents with passages; every output read back, by our readers and by the `bioc` package."""
import io
import json
from typing import Dict, List

import bioc
import bioc.biocjson
import pytest

from hsl_bioner_runtime.entities import document_record
from hsl_bioner_runtime.formats.bioc_writers import xml_text
from hsl_bioner_runtime.formats.documents import Document, Passage, document_sentences
from hsl_bioner_runtime.formats.readers import detect_input_format, read_documents
from hsl_bioner_runtime.formats.writers import (
    OUTPUT_FORMATS,
    RECORD_FORMATS,
    RecordWriter,
    document_writer,
    format_record,
)
from hsl_bioner_runtime.text import TextTokenizer

TOKENIZER = TextTokenizer()
ENTITY_WORDS = {"cancer", "APC", "tumour", "\U0001f600", "\x0b", "\x01", "\ud800"}  # noqa: B033


def _record(document: Dict) -> Dict:
    """A record as a tagger makes it from a tagger input: every ENTITY_WORDS token an entity."""
    sentences = document_sentences(TOKENIZER, document)
    tagged = [
        {
            "disease": (
                ["B-Disease" if t.text in ENTITY_WORDS else "O" for t in tokens],
                [0.75] * len(tokens),
            )
        }
        for tokens in sentences
    ]
    return document_record(document, sentences, tagged, "BIO", merge="none")


MESSY_DOCUMENTS = [
    # A PubTator-like document, with kept annotations (one without an id).
    Document.from_passages(
        "PMID1",
        [Passage(0, "APC and colorectal cancer", {"type": "title"}),
         Passage(26, "Abstract: tumour\r\nin mice.", {"type": "abstract"})],
        [],
    ),
    # BioC passages with gaps, an empty passage, characters XML cannot hold, \r, non-BMP.
    Document.from_passages(
        "PMC 2|x",
        [Passage(5, "Ctrl\x01char cancer\x0bhere", {"type": "front"}),
         Passage(40, ""),
         Passage(40, "Emoji \U0001f600 and lone \ud800 tumour.\r", {"type": "paragraph"}),
         Passage(90, "cancer")],
    ),
    # Empty; no title; no id.
    Document.from_passages("3", [Passage(0, "", {"type": "title"}), Passage(1, "")]),
    Document.from_passages("4", [Passage(0, ""), Passage(1, "Only an abstract about cancer.")]),
    Document.from_passages(None, [Passage(0, "No id: APC cancer")]),
]


def _records() -> List[Dict]:
    return [_record(document.to_json()) for document in MESSY_DOCUMENTS]


def _written(output_format: str, records: List[Dict]) -> str:
    writer = document_writer(output_format, date="2024-05-06")
    pieces = [writer.header()]
    pieces.extend(writer.document(record, default_id=n) for n, record in enumerate(records, 1))
    pieces.append(writer.footer())
    return "".join(pieces)


def test_the_writers_of_every_format():
    assert OUTPUT_FORMATS == ("json", "conll", "pubtator", "bioc-xml", "bioc-json")
    records = _records()
    for output_format in RECORD_FORMATS:
        writer = document_writer(output_format)
        assert isinstance(writer, RecordWriter)
        assert writer.header() == writer.footer() == ""
        assert writer.document(records[0], 1) == format_record(records[0], output_format, 1)
    with pytest.raises(ValueError, match="output format must be one of json, conll, pubtator, "):
        document_writer("brat")
    with pytest.raises(ValueError, match=r"BioC is one collection per file"):
        format_record(records[0], "bioc-xml", 1)


@pytest.mark.parametrize("output_format", ["bioc-xml", "bioc-json"])
def test_bioc_output_reads_back_with_ids_passages_offsets_and_entities(output_format):
    records = _records()
    written = _written(output_format, records)
    written.encode("utf-8")  # valid UTF-8: the lone surrogate did not get through raw
    data = written.encode("utf-8")
    assert detect_input_format(data) == output_format
    back = list(read_documents(io.BytesIO(data), output_format, "out", keep_annotations=True))
    assert len(back) == len(records)
    clean = xml_text if output_format == "bioc-xml" else (lambda text: text)
    for n, (document, record) in enumerate(zip(back, records), start=1):
        assert document.id == (record.get("id") or str(n)).replace(" ", "%20").replace("|", "%7C")
        assert document.text == clean(record["text"])  # one for one: same offsets
        assert [(p.offset, p.text, dict(p.infons)) for p in document.passages] == [
            (p["offset"], clean(p["text"]), p["infons"]) for p in record["passages"]
        ]
        entities = [
            (a.start, a.end, a.text, a.type, a.infons["task"], float(a.infons["score"]))
            for a in document.annotations
        ]
        assert entities == [
            (e["start"], e["end"], clean(e["text"]), e["type"], e["task"], e["score"])
            for e in record["entities"]
        ]
    # The messy document kept its \r, its gaps and its entities in every passage.
    assert "\r" in back[1].text and back[1].text[90:96] == "cancer"
    assert sum(len(record["entities"]) for record in records) >= 8


def test_bioc_xml_is_read_by_the_bioc_package_with_annotations_in_their_passages():
    records = _records()
    collection = bioc.biocxml.loads(_written("bioc-xml", records))
    assert (collection.source, collection.date) == ("hsl-bioner", "2024-05-06")
    assert [d.id for d in collection.documents] == ["PMID1", "PMC%202%7Cx", "3", "4", "5"]
    messy = collection.documents[1]
    assert messy.passages[0].text == "Ctrl\ufffdchar cancer\ufffdhere"  # one for one
    assert "\ufffd tumour.\r" in messy.passages[2].text
    for document in collection.documents:
        assert not document.annotations  # every entity is inside its passage
        for passage in document.passages:
            for annotation in passage.annotations:
                (location,) = annotation.locations
                assert passage.offset <= location.offset
                assert location.end <= passage.offset + len(passage.text)
                start = location.offset - passage.offset
                assert passage.text[start : start + location.length] == annotation.text
                assert set(annotation.infons) == {"type", "task", "score"}
                assert annotation.id.startswith("E")


def test_bioc_json_is_read_by_the_bioc_package():
    written = _written("bioc-json", _records())
    collection = bioc.biocjson.loads(written)
    assert len(collection.documents) == len(MESSY_DOCUMENTS)
    assert collection.documents[1].passages[2].text.startswith("Emoji \U0001f600 and lone \ud800")
    assert written.count("\n") == 2 + len(MESSY_DOCUMENTS)  # a document per line
    empty = _written("bioc-json", [])
    assert json.loads(empty)["documents"] == []
    assert bioc.biocxml.loads(_written("bioc-xml", [])).documents == []


def test_kept_annotations_are_written_with_their_ids_and_entity_ids_stay_unique():
    text = "APC causes cancer."
    document = {
        "id": "K",
        "text": text,
        "annotations": [
            {"id": "E1", "type": "Gene", "text": "APC", "start": 0, "end": 3,
             "infons": {"identifier": "324"}},
            {"type": "Disease", "text": "cancer", "start": 11, "end": 17},
        ],
    }
    record = _record(document)
    collection = bioc.biocxml.loads(_written("bioc-xml", [record]))
    annotations = collection.documents[0].passages[0].annotations
    ids = [a.id for a in annotations]
    assert ids == ["E1", "A1", "E2", "E3"]  # kept ones first; entity ids skip "E1"
    assert annotations[0].infons == {"identifier": "324", "type": "Gene"}
    assert len(set(ids)) == len(ids)


def test_a_record_that_does_not_fit_its_text_is_an_error_not_a_broken_file():
    record = _records()[0]
    bad = {**record, "entities": [{**record["entities"][0], "start": 1}]}
    with pytest.raises(ValueError, match=r"Document PMID1: entity 'APC' at 1-3 is not the text"):
        _written("bioc-xml", [bad])
    with pytest.raises(ValueError, match=r"passage 1 \(abstract\) is not the document's text"):
        _written("bioc-json", [{**record, "text": record["text"].replace("mice", "rats")}])


def test_pubtator_from_passages_writes_a_pubtator_input_back_as_it_was():
    pubtator = (
        "PMID1|t|APC and colorectal cancer  \n"
        "PMID1|a|Abstract: tumour in mice.\n"
        "\n"
        "2|t|\n"
        "2|a|Only an abstract about cancer.\n"
        "\n"
        "3|t|Title only\n"
        "3|a|\n"
        "\n"
    )
    documents = list(read_documents(io.BytesIO(pubtator.encode()), "pubtator", "in"))
    records = [_record(document.to_json()) for document in documents]
    written = _written("pubtator", records)
    text_lines = [line for line in written.splitlines() if "|t|" in line or "|a|" in line]
    assert text_lines == [line for line in pubtator.splitlines() if line]
    back = list(read_documents(io.BytesIO(written.encode()), "pubtator", "out", True))
    for document, record in zip(back, records):
        assert document.text == record["text"]
        assert document.passages == Document.from_json(record).passages
        assert [(a.start, a.end, a.text) for a in document.annotations] == [
            (e["start"], e["end"], e["text"]) for e in record["entities"]
        ]


def test_pubtator_from_bioc_passages_keeps_document_offsets():
    # Title, a gap, then two passages: the title is the first passage, the rest the abstract.
    records = _records()
    written = _written("pubtator", records[1:2])
    back = next(read_documents(io.BytesIO(written.encode()), "pubtator", "out", True))
    assert back.id == "PMC%202%7Cx"
    assert len(back.text) == len(records[1]["text"])
    assert [(a.start, a.end) for a in back.annotations] == [
        (e["start"], e["end"]) for e in records[1]["entities"]
    ]
    # Adjacent passages (no gap after the first): the first line break decides, as for text.
    adjacent = _record({"text": "Title\nAbstract", "passages": [
        {"offset": 0, "text": "Title\nAbs"}, {"offset": 9, "text": "tract"}]})
    assert _written("pubtator", [adjacent]).splitlines()[:2] == ["1|t|Title", "1|a|Abstract"]
