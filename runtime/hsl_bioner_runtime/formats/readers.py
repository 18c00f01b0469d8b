"""Readers of document files: PubTator, BioC XML and BioC JSON into `Document`s, and the
detection of a file's format from its first bytes.

Every document of the input gives one `Document`, in input order, empty ones included; bad input
raises `DocumentError` (a `ValueError`) whose message starts with ``<name>:<line>:`` where the
line is known (PubTator always; BioC XML the line of the document, passage or annotation, or
where the XML parser stopped; BioC JSON the line of a syntax error, else the document's number
and id).

PubTator (``pubtator``)
    Documents are separated by blank lines; a document is its title line ``ID|t|TITLE``, its
    abstract line ``ID|a|ABSTRACT`` (either may be empty; a missing abstract line is an empty
    abstract, an abstract line without a title line an empty title), then its annotation lines
    ``ID<TAB>START<TAB>END<TAB>MENTION<TAB>TYPE[<TAB>IDENTIFIER ...]`` (offsets over
    ``title + " " + abstract``; the identifier becomes the infon ``identifier``, further columns
    are not kept) and relation lines ``ID<TAB>RELATION<TAB>...`` (e.g. BC5CDR's
    ``ID<TAB>CID<TAB>D1<TAB>D2``), which are tolerated and not kept. A title line also starts a
    new document when no blank line came before it. Lines are split at ``\\n`` only (a ``\\r``
    before it is dropped) and are NOT stripped, so that the offsets stay the file's; the file is
    UTF-8 (a byte-order mark at its start is skipped). An id holds neither ``|`` nor a tab. Any
    other line, a line of another document inside a document, a second abstract line, and (when
    annotations are kept) an annotation whose offsets are not its mention, are errors.

    Why not `bioc.pubtator`: its reader strips lines (trailing whitespace of a title shifts the
    abstract's offsets), skips documents whose title and abstract are empty (counts in would not
    be counts out), prints instead of raising on lines it cannot parse and reports no line
    numbers. The rest of the work (annotation columns) is a few lines.

BioC XML (``bioc-xml``)
    A ``<collection>``: its ``<document>`` children are read one at a time with lxml's
    `iterparse` (the element is freed once read, so memory holds one document, not the file) and
    each is decoded by `bioc.biocxml.loads`, the `bioc` package's decoder. External entities and
    DTDs are never loaded (no network, no file access).

BioC JSON (``bioc-json``)
    A collection object with a list ``documents`` (the `bioc` package's JSON form). The file is
    parsed whole (`json.load`: the standard library has no streaming JSON parser), then each
    document is decoded by `bioc.biocjson.fromJSON`. Keys that the `bioc` decoder insists on but
    BioC writers often leave out (``infons``, ``annotations``, ``relations``, ``sentences``) may
    be missing; relations are not kept.

From BioC, a document's ``id`` (None when empty), its passages (``offset``, ``text``, infons)
and, when kept, the annotations of its passages and of the document itself (locations, text,
infons; ``type`` is the infon ``type``) are read. A passage whose text is in sentences (no
passage text) is an error: sentence-level BioC is not supported.
"""
import io
import json
import re
from dataclasses import dataclass, field
from typing import IO, Any, Dict, Iterator, List, Optional, Tuple

import bioc
import bioc.biocjson
from lxml import etree

from hsl_bioner_runtime.formats.documents import (
    DOCUMENT_FORMATS,
    Annotation,
    Document,
    DocumentError,
    Passage,
    as_infons,
    is_offset,
)

HEAD_BYTES = 65536
"""How many bytes of a file `detect_input_format` looks at (fewer will do)."""

_PUBTATOR_TEXT_RE = re.compile(r"([^\t|]*)\|([ta])\|(.*)", re.DOTALL)
_INTEGER_RE = re.compile(r"-?[0-9]+")
_RELATION_RE = re.compile(r"[A-Za-z][\w-]*")
_OFFSET_RE = re.compile(r"[0-9]+")
_XML_START_RE = re.compile(r"<(\?xml|!DOCTYPE\s+collection\b|collection\b)")
_DOCUMENTS_KEY_RE = re.compile(r'"documents"\s*:')


def detect_input_format(head: bytes) -> str:
    """The format of a file from its first bytes (`HEAD_BYTES` of them, or fewer):

    - ``bioc-xml`` if, after a byte-order mark and whitespace, it starts with ``<?xml``,
      ``<!DOCTYPE collection`` or ``<collection``;
    - ``bioc-json`` if it starts with ``{`` and its first line is a JSON object with a key
      ``documents``, or (a first line longer than the head, or an object over several lines)
      the head holds ``"documents":``;
    - ``pubtator`` if its first non-blank line starts like a PubTator title or abstract line
      (``ID|t|`` or ``ID|a|``, the id without tab or ``|``);
    - else ``jsonl``: one document per line, a line that starts with ``{`` a JSON object and any
      other line raw text (how `allennlp bioner-tag` has always read its input).
    """
    text = head.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    stripped = text.lstrip()
    if _XML_START_RE.match(stripped):
        return "bioc-xml"
    if stripped.startswith("{"):
        first_line = stripped.split("\n", 1)[0]
        try:
            value = json.loads(first_line)
        except ValueError:
            return "bioc-json" if _DOCUMENTS_KEY_RE.search(stripped) else "jsonl"
        return "bioc-json" if isinstance(value, dict) and "documents" in value else "jsonl"
    for line in stripped.split("\n", 1)[:1]:
        if _PUBTATOR_TEXT_RE.match(line):
            return "pubtator"
    return "jsonl"


def read_documents(
    stream: IO[bytes], input_format: str, name: str, keep_annotations: bool = False
) -> Iterator[Document]:
    """The documents of a binary `stream` in `input_format` (one of `DOCUMENT_FORMATS`), in
    order; `name` (e.g. the file's path) starts every error message; `keep_annotations` keeps
    the input's annotations (`Document.annotations`; None otherwise)."""
    readers = {"pubtator": _read_pubtator, "bioc-xml": _read_bioc_xml, "bioc-json": _read_bioc_json}
    if input_format not in readers:
        raise ValueError(
            f"read_documents reads {', '.join(DOCUMENT_FORMATS)}, not {input_format!r} (text "
            "and JSON lines are read one line at a time)."
        )
    return readers[input_format](stream, name, keep_annotations)


# ------------------------------------------------------------------------------- PubTator


@dataclass
class _Draft:
    """A PubTator document being read."""

    id: str
    line: int
    title: str
    abstract: Optional[str] = None
    annotations: List[Annotation] = field(default_factory=list)
    annotation_lines: List[int] = field(default_factory=list)

    def document(self, name: str, keep: bool) -> Document:
        title, abstract = self.title, self.abstract or ""
        passages = (
            Passage(0, title, {"type": "title"}),
            Passage(len(title) + 1, abstract, {"type": "abstract"}),
        )
        try:
            return Document.from_passages(
                self.id or None, passages, self.annotations if keep else None
            )
        except DocumentError as error:
            line = self.line
            if error.annotation is not None:
                line = self.annotation_lines[error.annotation]
            raise DocumentError(f"{name}:{line}: {error}") from None


def _read_pubtator(stream: IO[bytes], name: str, keep: bool) -> Iterator[Document]:
    draft: Optional[_Draft] = None
    for number, raw in enumerate(stream, start=1):
        line = _decoded(raw, name, number)
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if not line.strip():
            if draft is not None:
                yield draft.document(name, keep)
                draft = None
            continue
        match = _PUBTATOR_TEXT_RE.fullmatch(line)
        if match:
            doc_id, kind, body = match.groups()
            if kind == "t":
                if draft is not None:
                    yield draft.document(name, keep)
                draft = _Draft(doc_id, number, body)
                continue
            if draft is None:
                draft = _Draft(doc_id, number, "")
            elif draft.id != doc_id:
                raise DocumentError(
                    f"{name}:{number}: the abstract of document {doc_id!r} inside document "
                    f"{draft.id!r} (line {draft.line}); documents are separated by blank lines"
                )
            elif draft.abstract is not None or draft.annotation_lines:
                raise DocumentError(
                    f"{name}:{number}: a second abstract line, or one after annotation lines, "
                    f"in document {doc_id!r}"
                )
            draft.abstract = body
            continue
        fields = line.split("\t")
        if draft is None:
            raise DocumentError(
                f"{name}:{number}: expected a title line 'ID|t|TITLE', got {line[:80]!r}"
            )
        if fields[0] != draft.id:
            raise DocumentError(
                f"{name}:{number}: a line of document {fields[0]!r} inside document "
                f"{draft.id!r} (line {draft.line}); documents are separated by blank lines"
            )
        if len(fields) >= 5 and all(_INTEGER_RE.fullmatch(f) for f in fields[1:3]):
            infons = {"identifier": fields[5]} if len(fields) > 5 else {}
            draft.annotations.append(
                Annotation(((int(fields[1]), int(fields[2])),), fields[3], fields[4], None, infons)
            )
            draft.annotation_lines.append(number)
        elif not (len(fields) >= 3 and _RELATION_RE.fullmatch(fields[1])):
            raise DocumentError(
                f"{name}:{number}: neither an annotation line (ID, START, END, MENTION, TYPE"
                f"[, IDENTIFIER]) nor a relation line (ID, RELATION, ...): {line[:80]!r}"
            )
    if draft is not None:
        yield draft.document(name, keep)


def _decoded(raw: bytes, name: str, number: int) -> str:
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DocumentError(
            f"{name}:{number}: not UTF-8 ({error.reason} at byte {error.start} of the line)"
        ) from None


# ---------------------------------------------------------------------------------- BioC


def _from_bioc(document: Any, keep: bool) -> Document:
    """Our document of a `bioc.BioCDocument` (see the module docstring)."""
    doc_id = document.id or None
    passages = []
    for i, passage in enumerate(document.passages):
        text = passage.text or ""
        if not text and passage.sentences:
            raise DocumentError(
                f"document {doc_id!r}, passage {i}: its text is in sentences, which is not "
                "supported (give the passage its text)",
                passage=i,
            )
        passages.append(Passage(passage.offset, text, as_infons(passage.infons)))
    annotations = None
    if keep:
        found = [a for passage in document.passages for a in passage.annotations]
        found.extend(document.annotations)
        annotations = []
        for annotation in found:
            infons = as_infons(annotation.infons)
            annotations.append(
                Annotation(
                    tuple((loc.offset, loc.offset + loc.length) for loc in annotation.locations),
                    annotation.text or "",
                    infons.get("type", ""),
                    annotation.id or None,
                    infons,
                )
            )
    return Document.from_passages(doc_id, passages, annotations)


def _read_bioc_xml(stream: IO[bytes], name: str, keep: bool) -> Iterator[Document]:
    events = etree.iterparse(
        stream,
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
    )
    root = None
    try:
        for event, element in events:
            if root is None:
                if element.tag != "collection":
                    raise DocumentError(
                        f"{name}:{element.sourceline}: a BioC XML file is a <collection>, not "
                        f"<{element.tag}>"
                    )
                root = element
            elif event == "end" and element.tag == "document" and element.getparent() is root:
                yield _xml_document(element, name, keep)
                # Free what has been read: the document and everything before it.
                element.clear()
                while element.getprevious() is not None:
                    del root[0]
    except etree.XMLSyntaxError as error:
        line = max(error.lineno, 1)  # (lxml says line 0 for an empty file)
        raise DocumentError(f"{name}:{line}: not well-formed XML: {error.msg}") from None


def _xml_document(element: Any, name: str, keep: bool) -> Document:
    doc_id = element.findtext("id")
    passages = element.findall("passage")
    for i, passage in enumerate(passages):
        offset = passage.findtext("offset")
        if offset is None or not _OFFSET_RE.fullmatch(offset.strip()):
            raise DocumentError(
                f"{name}:{passage.sourceline}: document {doc_id!r}, passage {i}: the offset must "
                f"be a non-negative integer, got {offset!r}"
            )
    annotation_lines = [a.sourceline for p in passages for a in p.findall("annotation")]
    annotation_lines.extend(a.sourceline for a in element.findall("annotation"))
    xml = etree.tostring(element, encoding="unicode")
    try:
        decoded = bioc.biocxml.loads(f"<collection>{xml}</collection>").documents[0]
    except (ValueError, TypeError, KeyError) as error:
        raise DocumentError(
            f"{name}:{element.sourceline}: document {doc_id!r} is not valid BioC "
            f"({type(error).__name__}: {error})"
        ) from None
    try:
        return _from_bioc(decoded, keep)
    except DocumentError as error:
        line = element.sourceline
        if error.passage is not None:
            line = passages[error.passage].sourceline
        elif error.annotation is not None:
            line = annotation_lines[error.annotation]
        raise DocumentError(f"{name}:{line}: {error}") from None


def _read_bioc_json(stream: IO[bytes], name: str, keep: bool) -> Iterator[Document]:
    try:
        collection = json.load(io.TextIOWrapper(stream, encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise DocumentError(f"{name}:{error.lineno}: not valid JSON: {error.msg}") from None
    except UnicodeDecodeError as error:
        raise DocumentError(f"{name}: not UTF-8 ({error.reason} at byte {error.start})") from None
    if not isinstance(collection, dict) or not isinstance(collection.get("documents"), list):
        raise DocumentError(
            f"{name}: a BioC JSON file is a collection: an object with a list 'documents'"
        )
    for number, value in enumerate(collection["documents"], start=1):
        where = f"{name}: document {number}"
        try:
            decoded = bioc.biocjson.fromJSON(_bioc_json_document(value), "BioCDocument")
            yield _from_bioc(decoded, keep)
        except DocumentError as error:
            raise DocumentError(f"{where}: {error}") from None
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            doc_id = value.get("id") if isinstance(value, dict) else None
            raise DocumentError(
                f"{where} ({doc_id!r}) is not valid BioC ({type(error).__name__}: {error})"
            ) from None


def _bioc_json_document(value: Any) -> Dict[str, Any]:
    """A BioC JSON document with the keys that `bioc.biocjson` requires filled in, checked where
    a wrong type would reach our code unnoticed (offsets and texts)."""
    if not isinstance(value, dict):
        raise DocumentError(f"a document must be an object, got {repr(value)[:80]}")
    doc_id = value.get("id")
    passages = value.get("passages")
    if not isinstance(passages, list):
        raise DocumentError(f"document {doc_id!r} needs a list 'passages'")
    filled = []
    for i, passage in enumerate(passages):
        if not isinstance(passage, dict):
            raise DocumentError(f"document {doc_id!r}, passage {i} must be an object")
        text = passage.get("text")
        if not is_offset(passage.get("offset")) or not isinstance(text or "", str):
            raise DocumentError(
                f"document {doc_id!r}, passage {i}: the offset must be a non-negative integer "
                f"and the text a string, got offset {passage.get('offset')!r}"
            )
        filled.append(
            {
                **passage,
                "text": text or "",
                "infons": passage.get("infons") or {},
                "sentences": passage.get("sentences") or [],
                "annotations": _bioc_json_annotations(passage.get("annotations")),
                "relations": [],
            }
        )
    return {
        **value,
        "id": "" if doc_id is None else str(doc_id),
        "infons": value.get("infons") or {},
        "passages": filled,
        "annotations": _bioc_json_annotations(value.get("annotations")),
        "relations": [],
    }


def _bioc_json_annotations(value: Any) -> List[Dict[str, Any]]:
    annotations = []
    for annotation in value or []:
        if not isinstance(annotation, dict):
            raise DocumentError(f"an annotation must be an object, got {repr(annotation)[:80]}")
        locations: Tuple[Any, ...] = tuple(annotation.get("locations") or ())
        for location in locations:
            if not (
                isinstance(location, dict)
                and is_offset(location.get("offset"))
                and is_offset(location.get("length"))
            ):
                raise DocumentError(
                    f"annotation {annotation.get('id')!r}: a location is an object with "
                    f"non-negative integers 'offset' and 'length', got {repr(location)[:80]}"
                )
        annotations.append(
            {
                **annotation,
                "id": "" if annotation.get("id") is None else str(annotation["id"]),
                "infons": annotation.get("infons") or {},
                "text": annotation.get("text") or "",
                "locations": list(locations),
            }
        )
    return annotations
