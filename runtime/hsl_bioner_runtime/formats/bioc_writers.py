"""BioC XML and BioC JSON writers of document records: one BioC collection per file.

Each record (`hsl_bioner_runtime.entities`) becomes one BioC document:

- ``id``: as in the other formats (`hsl_bioner_runtime.formats.writers.document_id`: the
  record's ``id``, else the default id, percent-encoded where PubTator could not hold it);
- passages: the record's ``passages`` (offset, text, infons; see
  `hsl_bioner_runtime.formats.documents`), or one passage of the whole text at offset 0;
- annotations: first the input's annotations that were kept (the record's ``annotations``:
  their ids, infons, locations and text; an annotation without an id gets ``A1``, ``A2`` ...),
  then one per entity, with the id ``E1``, ``E2`` ... (skipping ids the kept annotations use),
  the infons ``type``, ``task`` and ``score``, one location (offset = start, length =
  end - start, document-level as BioC's are) and the mention as its text. An annotation lives
  in the passage that holds it, else (a kept annotation across passages) in the document.

BioC XML (``bioc-xml``)
    Written by the `bioc` package's incremental `BioCXMLDocumentWriter` (lxml's `xmlfile`) into
    a buffer that every call drains, so documents go out as they come. XML 1.0 cannot hold some
    characters (C0 controls other than tab, line feed and carriage return; lone surrogates;
    U+FFFE and U+FFFF): each is written as U+FFFD, one character for one, in texts, mentions,
    ids and infons, so that the offsets stay valid. A carriage return is written as ``&#13;``,
    so that readers keep it (XML readers turn a raw one into a line feed).

BioC JSON (``bioc-json``)
    The collection object of `bioc.biocjson`, each document (`bioc.biocjson.toJSON`) on a line
    of its own; lone surrogates and U+0085, U+2028, U+2029 are escaped as in JSON lines
    (`hsl_bioner_runtime.formats.writers.to_json`); nothing else is replaced.
"""
import io
from typing import Callable, Iterator, Optional, Set

from bioc import BioCAnnotation, BioCCollection, BioCDocument, BioCLocation, BioCPassage
from bioc.biocjson import toJSON
from bioc.biocxml.encoder import BioCXMLDocumentWriter

from hsl_bioner_runtime.formats.documents import Document
from hsl_bioner_runtime.formats.writers import (
    DefaultId,
    DocumentWriter,
    Record,
    checked_entity_span,
    document_id,
    to_json,
)

# The code points XML 1.0 cannot hold (Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] |
# [#xE000-#xFFFD] | [#x10000-#x10FFFF]).
_XML_TABLE = {
    cp: "\ufffd"
    for cp in [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF]
}


def xml_text(text: str) -> str:
    """`text` with every character that XML 1.0 cannot hold replaced by U+FFFD (one for one)."""
    return text.translate(_XML_TABLE)


def bioc_document(
    record: Record, default_id: DefaultId, clean: Callable[[str], str] = str
) -> BioCDocument:
    """The BioC document of a record (see the module docstring); `clean` is applied to every
    string written (`xml_text` for XML). A record whose passages, kept annotations or entities
    do not fit its text raises `ValueError`."""
    document = Document.from_json(record, annotations=True)
    doc_id = document_id(record, default_id)
    out = BioCDocument()
    out.id = clean(doc_id)
    for passage in document.passages:
        written = BioCPassage()
        written.offset = passage.offset
        written.text = clean(passage.text)
        written.infons = {clean(k): clean(v) for k, v in passage.infons.items()}
        out.add_passage(written)
    kept = document.annotations or ()
    used: Set[str] = {annotation.id for annotation in kept if annotation.id}
    kept_ids, entity_ids = _fresh_ids("A", used), _fresh_ids("E", used)
    for annotation in kept:
        infons = {**annotation.infons, "type": annotation.type}
        written_annotation = _annotation(
            annotation.id or next(kept_ids), infons, annotation.locations, annotation.text, clean
        )
        _place(out, document, written_annotation, annotation.start, annotation.end)
    for entity in record["entities"]:
        start, end = checked_entity_span(record, entity, doc_id)
        infons = {"type": entity["type"], "task": entity["task"], "score": entity["score"]}
        written_annotation = _annotation(
            next(entity_ids), infons, ((start, end),), entity["text"], clean
        )
        _place(out, document, written_annotation, start, end)
    return out


class BioCWriter(DocumentWriter):
    """The BioC collection that a BioC writer writes.

    # Parameters

    source : `str`, optional (default = `"hsl-bioner"`)
        The collection's ``source``.
    date : `str`, optional (default = today)
        The collection's ``date`` (ISO, ``YYYY-MM-DD``).
    """

    def __init__(self, source: str = "hsl-bioner", date: Optional[str] = None) -> None:
        self._collection = BioCCollection()
        self._collection.source = source
        if date is not None:
            self._collection.date = date  # else bioc's default: today


class BioCXMLWriter(BioCWriter):
    """Writes one BioC XML collection (see the module docstring; parameters: `BioCWriter`)."""

    def __init__(self, source: str = "hsl-bioner", date: Optional[str] = None) -> None:
        super().__init__(source, date)
        self._buffer = io.BytesIO()
        self._writer = BioCXMLDocumentWriter(self._buffer, encoding="UTF-8")

    def header(self) -> str:
        self._writer.write_collection_info(self._collection)
        return self._drained()

    def document(self, record: Record, default_id: DefaultId) -> str:
        self._writer.write_document(bioc_document(record, default_id, xml_text))
        return self._drained()

    def footer(self) -> str:
        self._writer.close()
        return self._drained()

    def _drained(self) -> str:
        written = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return written.decode("utf-8")


class BioCJSONWriter(BioCWriter):
    """Writes one BioC JSON collection (see the module docstring; parameters: `BioCWriter`)."""

    def __init__(self, source: str = "hsl-bioner", date: Optional[str] = None) -> None:
        super().__init__(source, date)
        self._written = 0

    def header(self) -> str:
        info = toJSON(self._collection)
        del info["documents"]
        opening = to_json(info)  # '{...}\n'
        return opening[: -len("}\n")] + ', "documents": [\n'

    def document(self, record: Record, default_id: DefaultId) -> str:
        separator = ",\n" if self._written else ""
        self._written += 1
        return separator + to_json(toJSON(bioc_document(record, default_id)))[:-1]

    def footer(self) -> str:
        return "\n]}\n"


def _annotation(annotation_id, infons, locations, text, clean) -> BioCAnnotation:
    written = BioCAnnotation()
    written.id = clean(annotation_id)
    written.infons = {clean(str(k)): clean(str(v)) for k, v in infons.items()}
    for start, end in locations:
        written.add_location(BioCLocation(start, end - start))
    written.text = clean(text)
    return written


def _place(out: BioCDocument, document: Document, annotation, start: int, end: int) -> None:
    i = document.passage_at(start, end)
    if i is None:
        out.add_annotation(annotation)
    else:
        out.passages[i].add_annotation(annotation)


def _fresh_ids(prefix: str, used: Set[str]) -> Iterator[str]:
    number = 0
    while True:
        number += 1
        candidate = f"{prefix}{number}"
        if candidate not in used:
            used.add(candidate)
            yield candidate
