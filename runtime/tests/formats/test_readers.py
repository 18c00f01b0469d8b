"""Tests of hsl_bioner_runtime.formats.readers: PubTator, BioC XML and BioC JSON on messy
documents, bad input and its messages, format detection, streaming."""
import io
import json
from typing import List

import pytest

from hsl_bioner_runtime.formats.documents import Annotation, Document, DocumentError, Passage
from hsl_bioner_runtime.formats.readers import detect_input_format, read_documents

# Messy PubTator: CRLF line ends, a title with trailing spaces, non-BMP characters, an empty
# document, a document without a title, one without an abstract line, BC5CDR's CID relation
# lines, a 5-column annotation (no identifier), a 7-column composite one, a document that starts
# without a blank line before it, and several blank lines.
PUBTATOR = (
    "100|t|Naloxone reverses the antihypertensive effect of clonidine.  \r\n"
    "100|a|In unanesthetized rats \U0001f400 clonidine lowered blood pressure.\r\n"
    "100\t0\t8\tNaloxone\tChemical\tD009270\r\n"
    "100\t49\t58\tclonidine\tChemical\tD003000\r\n"
    "100\t105\t119\tblood pressure\tFinding\r\n"
    "100\tCID\tD009270\tD003000\r\n"
    "\r\n"
    "200|t|\n"
    "200|a|\n"
    "\n"
    "\n"
    "300|t|\n"
    "300|a|Only an abstract: breast and ovarian cancer.\n"
    "300\t19\t44\tbreast and ovarian cancer\tDisease\tD001943|D010051"
    "\tbreast cancer|ovarian cancer\n"
    "\n"
    "400|t|A title without abstract line\n"
    "400\t2\t7\ttitle\tThing\tT:1\n"
    "500|t|Straight after, no blank line\n"
    "500|a|Fine.\n"
)


def _read(data, input_format, keep=False, name="in.txt") -> List[Document]:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return list(read_documents(io.BytesIO(data), input_format, name, keep_annotations=keep))


# ------------------------------------------------------------------------------- PubTator


def test_pubtator_messy_documents_are_read_one_for_one_with_document_offsets():
    documents = _read(PUBTATOR, "pubtator", keep=True)
    assert [d.id for d in documents] == ["100", "200", "300", "400", "500"]
    first = documents[0]
    title = "Naloxone reverses the antihypertensive effect of clonidine.  "
    assert first.passages[0] == Passage(0, title, {"type": "title"})  # not stripped
    assert first.passages[1].offset == len(title) + 1
    abstract = "In unanesthetized rats \U0001f400 clonidine lowered blood pressure."
    assert first.text == title + " " + abstract
    assert [(a.start, a.end, a.text, a.type, a.infons) for a in first.annotations] == [
        (0, 8, "Naloxone", "Chemical", {"identifier": "D009270"}),
        (49, 58, "clonidine", "Chemical", {"identifier": "D003000"}),
        (105, 119, "blood pressure", "Finding", {}),
    ]
    for document in documents:
        for annotation in document.annotations:
            assert document.text[annotation.start : annotation.end] == annotation.text
    assert documents[1].text == " " and documents[1].annotations == ()  # empty, still there
    assert documents[2].passages[0].text == "" and documents[2].annotations[0].type == "Disease"
    assert documents[3].passages[1] == Passage(30, "", {"type": "abstract"})
    assert documents[4].text == "Straight after, no blank line Fine."


def test_pubtator_annotations_are_left_out_unless_kept():
    assert all(d.annotations is None for d in _read(PUBTATOR, "pubtator"))
    assert "annotations" not in _read(PUBTATOR, "pubtator")[0].to_json()


def test_a_byte_order_mark_and_a_last_line_without_line_break():
    (document,) = _read(b"\xef\xbb\xbf7|t|Title\n7|a|Abstract", "pubtator")
    assert (document.id, document.text) == ("7", "Title Abstract")


@pytest.mark.parametrize(
    "data, message",
    [
        ("1|t|T\n1|a|A\nnonsense line\n", r"in\.txt:3: a line of document 'nonsense line' inside"),
        ("just text\n", r"in\.txt:1: expected a title line 'ID\|t\|TITLE', got 'just text'"),
        ("1|t|T\n2|a|A\n", r"in\.txt:2: the abstract of document '2' inside document '1'"),
        ("1|t|T\n1|a|A\n1|a|B\n", r"in\.txt:3: a second abstract line"),
        ("1|t|T\n1|a|A\n1\t0\tx\tT\tType\n", r"in\.txt:3: neither an annotation line"),
        ("1|t|T\n1|a|A\n1\t0\n", r"in\.txt:3: neither an annotation line"),
        ("1|t|Tumour\n1|a|A\n1\t0\t3\tTum\tDisease\tD1\n1\t0\t5\tTumor\tDisease\n",
         r"in\.txt:4: document '1', annotation 1 \('Tumor'\) at 0-5 is not the text there"),
        ("1|t|T\n1|a|A\n1\t2\t9\tA\tDisease\n", r"in\.txt:3: .* at 2-9 is not a non-empty span"),
        (b"1|t|T\n1|a|caf\xe9\n", r"in\.txt:2: not UTF-8 \(unexpected end of data at byte 7 of"),
    ],
)
def test_bad_pubtator_names_the_file_and_line(data, message):
    with pytest.raises(DocumentError, match=message):
        _read(data, "pubtator", keep=True)


def test_unkept_annotations_are_not_checked_against_the_text_but_their_lines_are():
    assert len(_read("1|t|T\n1|a|A\n1\t2\t9\tA\tDisease\n", "pubtator")) == 1
    with pytest.raises(DocumentError, match="neither an annotation line"):
        _read("1|t|T\n1|a|A\n1\tx\n", "pubtator")


# ---------------------------------------------------------------------------------- BioC

BIOC_XML = """<?xml version='1.0' encoding='UTF-8'?>
<!DOCTYPE collection SYSTEM "BioC.dtd">
<collection>
  <source>PubTator</source><date>2024-01-01</date><key>BioC.key</key>
  <infon key="note">collection infons are not kept</infon>
  <document>
    <id>PMC1</id>
    <infon key="license">CC BY</infon>
    <passage>
      <infon key="type">title</infon>
      <offset>0</offset>
      <text>BRCA1 &amp; breast cancer</text>
      <annotation id="1">
        <infon key="type">Gene</infon><infon key="identifier">672</infon>
        <location offset="0" length="5"/><text>BRCA1</text>
      </annotation>
    </passage>
    <passage>
      <infon key="type">abstract</infon>
      <offset>30</offset>
      <text>Résumé: α-synuclein and ovarian cancer.</text>
      <annotation id="2">
        <infon key="type">Disease</infon>
        <location offset="54" length="14"/><text>ovarian cancer</text>
      </annotation>
    </passage>
    <passage><infon key="type">figure</infon><offset>80</offset></passage>
    <annotation id="3">
      <infon key="type">Disease</infon>
      <location offset="8" length="6"/><location offset="63" length="6"/>
      <text>breast cancer</text>
    </annotation>
    <relation id="R1"><infon key="type">Association</infon>
      <node refid="1" role="Gene"/><node refid="2" role="Disease"/></relation>
  </document>
  <document><id></id><passage><offset>0</offset><text></text></passage></document>
  <document><id>no-passages</id></document>
</collection>
"""


def _bioc_json(documents) -> str:
    return json.dumps(
        {"source": "x", "date": "", "key": "", "infons": {}, "documents": documents}, indent=1
    )


BIOC_JSON = _bioc_json(
    [
        {
            "id": "PMC1",
            "infons": {"license": "CC BY"},
            "passages": [
                {
                    "offset": 0,
                    "infons": {"type": "title"},
                    "text": "BRCA1 & breast cancer",
                    "annotations": [
                        {
                            "id": "1",
                            "infons": {"type": "Gene", "identifier": 672},
                            "text": "BRCA1",
                            "locations": [{"offset": 0, "length": 5}],
                        }
                    ],
                },
                # (no infons, annotations, relations or sentences: often left out)
                {"offset": 30, "text": "Résumé: α-synuclein and ovarian cancer."},
                {"offset": 80, "infons": {"type": "figure"}, "text": None},
            ],
            "annotations": [
                {
                    "id": "2",
                    "infons": {"type": "Disease"},
                    "text": "ovarian cancer",
                    "locations": [{"offset": 54, "length": 14}],
                },
                {
                    "id": "3",
                    "infons": {"type": "Disease"},
                    "text": "breast cancer",
                    "locations": [{"offset": 8, "length": 6}, {"offset": 63, "length": 6}],
                }
            ],
            "relations": [{"id": "R1", "infons": {}, "nodes": []}],
        },
        {"id": "", "passages": [{"offset": 0, "text": ""}]},
        {"id": 12, "passages": []},
    ]
)


@pytest.mark.parametrize("input_format, data", [("bioc-xml", BIOC_XML), ("bioc-json", BIOC_JSON)])
def test_bioc_documents_passages_with_gaps_and_annotations(input_format, data):
    documents = _read(data, input_format, keep=True)
    assert [d.id for d in documents] == ["PMC1", None, "no-passages" if "xml" in input_format
                                         else "12"]
    first = documents[0]
    assert [(p.offset, p.infons.get("type")) for p in first.passages] == [
        (0, "title"), (30, "abstract" if input_format == "bioc-xml" else None), (80, "figure")
    ]
    # (The empty passage at 80 is placed there too: the text runs to its offset.)
    assert first.text == (
        "BRCA1 & breast cancer" + " " * 9 + "Résumé: α-synuclein and ovarian cancer." + " " * 11
    )
    assert first.text[54:68] == "ovarian cancer"
    found = {(a.id, a.locations, a.type, a.text) for a in first.annotations}
    assert ("1", ((0, 5),), "Gene", "BRCA1") in found
    assert ("3", ((8, 14), (63, 69)), "Disease", "breast cancer") in found  # document-level
    assert len(found) == 3
    assert documents[1].text == "" and documents[1].annotations == ()
    assert documents[2].passages == () and documents[2].text == ""
    gene = next(a for a in first.annotations if a.id == "1")
    assert gene.infons["identifier"] == "672"  # infons are strings
    assert all(d.annotations is None for d in _read(data, input_format))


def _xml(body: str) -> str:
    return f"<?xml version='1.0'?>\n<collection><source/><date/><key/>\n{body}\n</collection>\n"


@pytest.mark.parametrize(
    "data, message",
    [
        ("<?xml version='1.0'?>\n<collection>\n<document>\n</collection>",
         r"in\.txt:4: not well-formed XML: Opening and ending tag mismatch"),
        ("<?xml version='1.0'?>\n<corpus/>", r"in\.txt:2: a BioC XML file is a <collection>"),
        ("", r"in\.txt:1: not well-formed XML"),
        (_xml("<document><id>D</id>\n<passage><offset>x</offset></passage></document>"),
         r"in\.txt:4: document 'D', passage 0: the offset must be a non-negative integer, got 'x'"),
        (_xml("<document><id>D</id>\n<passage><text>no offset</text></passage></document>"),
         r"in\.txt:4: document 'D', passage 0: the offset must be .* got None"),
        (_xml("<document><id>D</id>\n<passage><offset>0</offset><text>abcdef</text></passage>\n"
              "<passage><infon key='type'>abstract</infon><offset>4</offset><text>x</text>"
              "</passage></document>"),
         r"in\.txt:5: document 'D', passage 1 \(abstract\) starts at 4, before the end of passage"),
        (_xml("<document><id>D</id>\n<passage><offset>5</offset><text>b</text></passage>\n"
              "<passage><offset>0</offset><text>a</text></passage></document>"),
         r"in\.txt:5: document 'D', passage 1 starts at 0, before the end of passage 0"),
        (_xml("<document><id>D</id>\n<passage><offset>0</offset><text>cancer</text>\n"
              "<annotation id='a'><location offset='0' length='5'/><text>cancer</text>"
              "</annotation></passage></document>"),
         r"in\.txt:5: document 'D', annotation 0 \('cancer'\) at 0-5 is not the text there"),
        (_xml("<document><id>D</id>\n<passage><offset>0</offset><text>cancer</text>\n"
              "<annotation id='a'><location offset='zero' length='5'/></annotation>"
              "</passage></document>"),
         r"in\.txt:3: document 'D' is not valid BioC \(ValueError"),
        (_xml("<document><id>D</id>\n<passage><offset>0</offset>\n"
              "<sentence><offset>0</offset><text>Sentence.</text></sentence></passage></document>"),
         r"in\.txt:4: document 'D', passage 0: its text is in sentences, which is not supported"),
    ],
)
def test_bad_bioc_xml_names_the_file_and_line(data, message):
    with pytest.raises(DocumentError, match=message):
        _read(data, "bioc-xml", keep=True)


@pytest.mark.parametrize(
    "data, message",
    [
        ('{"documents": [\n{"id": 1,\n}]}', r"in\.txt:3: not valid JSON: Expecting property name"),
        ('[{"id": 1}]', r"in\.txt: a BioC JSON file is a collection: an object with a list"),
        (_bioc_json([{"id": "A", "passages": []}, {"id": "B"}]),
         r"in\.txt: document 2: document 'B' needs a list 'passages'"),
        (_bioc_json([{"id": "A", "passages": [{"offset": "0", "text": "x"}]}]),
         r"in\.txt: document 1: document 'A', passage 0: the offset must be a non-negative"),
        (_bioc_json([{"id": "A", "passages": [{"offset": 0, "text": 5}]}]),
         r"document 'A', passage 0: the offset must be a non-negative integer and the text a"),
        (_bioc_json([{"id": "A", "passages": [{"offset": 0, "text": "abc"},
                                              {"offset": 2, "text": "x"}]}]),
         r"in\.txt: document 1: document 'A', passage 1 starts at 2, before the end of passage 0"),
        (_bioc_json([{"id": "A", "passages": [{"offset": 0, "text": "abc", "annotations": [
            {"id": "1", "locations": [{"offset": 0, "length": 2}], "text": "abc"}]}]}]),
         r"document 1: document 'A', annotation 0 \('abc'\) at 0-2 is not the text there"),
        (_bioc_json([{"id": "A", "passages": [{"offset": 0, "text": "abc", "annotations": [
            {"id": "1", "locations": [{"offset": 0}]}]}]}]),
         r"document 1: annotation '1': a location is an object with non-negative integers"),
        (b'{"documents": ["\xff"]}', r"in\.txt: not UTF-8"),
    ],
)
def test_bad_bioc_json_names_the_file_and_document(data, message):
    with pytest.raises(DocumentError, match=message):
        _read(data, "bioc-json", keep=True)


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="read_documents reads pubtator, bioc-xml, bioc-json"):
        _read("x", "jsonl")


# ------------------------------------------------------------------------------ detection


@pytest.mark.parametrize(
    "head, expected",
    [
        (BIOC_XML, "bioc-xml"),
        ("\ufeff  \n<collection><source/></collection>", "bioc-xml"),
        ('<!DOCTYPE collection SYSTEM "BioC.dtd"><collection/>', "bioc-xml"),
        (BIOC_JSON, "bioc-json"),  # over several lines
        (json.dumps({"source": "", "documents": []}) + "\n", "bioc-json"),  # one line
        ('{"source": "' + "x" * 70000 + '", "documents": []}', "jsonl"),  # key beyond the head
        ('{"text": "a", "documents": "a key of my own"}\n', "bioc-json"),
        ('{"text": "Colorectal cancer.", "id": 1}\n{"text": "b"}\n', "jsonl"),
        ('{"text": "the word \\"documents\\": inside", \n', "jsonl"),
        ("\n\n100|t|Title\n100|a|Abstract\n", "pubtator"),
        ("PMID 7|a|an abstract first\n", "pubtator"),
        ("Mutations in APC cause cancer.\n{\"text\": \"x\"}\n", "jsonl"),
        ("<b>bold</b> text\n", "jsonl"),
        ("", "jsonl"),
    ],
)
def test_formats_are_detected_from_the_first_bytes(head, expected):
    data = head.encode("utf-8") if isinstance(head, str) else head
    assert detect_input_format(data[:65536]) == expected


def test_detection_survives_a_head_cut_inside_a_character():
    assert detect_input_format("1|t|Résumé".encode()[:9]) == "pubtator"


# ------------------------------------------------------------------------------ streaming


class _CountingStream(io.BytesIO):
    """A binary stream that remembers how far it has been read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.furthest = 0

    def read(self, *args):
        chunk = super().read(*args)
        self.furthest = max(self.furthest, self.tell())
        return chunk

    def readline(self, *args):
        line = super().readline(*args)
        self.furthest = max(self.furthest, self.tell())
        return line

    def __next__(self):
        line = super().__next__()
        self.furthest = max(self.furthest, self.tell())
        return line


@pytest.mark.parametrize("input_format", ["pubtator", "bioc-xml"])
def test_pubtator_and_bioc_xml_are_read_one_document_at_a_time(input_format):
    n = 3000
    if input_format == "pubtator":
        data = "".join(f"{i}|t|Title {i}\n{i}|a|Breast cancer in family {i}.\n\n" for i in range(n))
    else:
        data = _xml("\n".join(
            f"<document><id>{i}</id><passage><offset>0</offset><text>Breast cancer {i}.</text>"
            "</passage></document>" for i in range(n)
        ))
    stream = _CountingStream(data.encode("utf-8"))
    documents = read_documents(stream, input_format, "big")
    first = next(documents)
    assert first.id == "0"
    assert stream.furthest < len(data) / 4  # the rest of the file has not been read yet
    assert sum(1 for _ in documents) == n - 1


def test_documents_equal_what_they_are_built_from():
    # The readers build documents with `Document.from_passages`, the writers read records with
    # `Document.from_json`: one model, so a document survives its JSON form.
    for document in _read(PUBTATOR, "pubtator", keep=True) + _read(BIOC_XML, "bioc-xml", True):
        assert Document.from_json(document.to_json(), annotations=True) == document
        assert isinstance(document.annotations[0] if document.annotations else None,
                          (Annotation, type(None)))
