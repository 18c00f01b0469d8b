"""Writers of document records (`hsl_bioner_runtime.entities`): JSON lines, CoNLL, PubTator and
(in `hsl_bioner_runtime.formats.bioc_writers`) BioC XML and BioC JSON.

A `DocumentWriter` writes one output file: `DocumentWriter.header`, then
`DocumentWriter.document` for each record in input order, then `DocumentWriter.footer`; the file
is the concatenation of the strings they return, so a caller may write them to a file, a pipe or
an HTTP response as they come. `document_writer` makes the writer of a format. In the record
formats (`RECORD_FORMATS`: json, conll, pubtator) header and footer are empty and each record is
a complete piece of the file, ending with a line break (`format_record`: what `allennlp predict`
writes, one record per input); a BioC file is one collection, so its header opens it and its
footer closes it. Every output document maps back to its input document (an empty one
included). Everything written is valid UTF-8, whatever the text holds (lone surrogates
included), and every offset written is the record's: code points of the input ``text``.

JSON (``json``)
    The record on one line (`json.dumps`, non-ASCII characters as they are). A lone surrogate,
    which UTF-8 cannot encode, is written as its JSON escape (``"\\ud800"``), which JSON readers
    decode back to the same code point, so the offsets stay valid. (A high surrogate directly
    followed by a low one, which only a Python caller can build, is read back by JSON readers as
    the one character of that pair: JSON has no way to keep the two apart.) So are U+0085,
    U+2028 and U+2029, which `json.dumps` leaves raw but `str.splitlines` (and JavaScript before
    ES2019) takes for line breaks: one record stays one line for every reader.

CoNLL (``conll``)
    A document starts with the comment line ``# newdoc id = <id>`` (the CoNLL-U convention for
    document boundaries); then, for each sentence, one line per token: token, start, end and one
    tag column per task (in the order of the sentence's ``tags``), tab-separated, and a blank line
    after the sentence. A document without sentences (empty or blank text) is its comment line
    alone. A token line is never taken for the comment: a token holds no whitespace and is
    followed by a tab (a token ``#`` is written ``#<TAB>...``). Tabs and line breaks in a token
    (tokens of `hsl_bioner_runtime.text` have none) would be written as spaces, lone surrogates
    as U+FFFD, as in PubTator.

PubTator (``pubtator``)
    ``<id>|t|<title>``, ``<id>|a|<abstract>``, then one line per entity:
    ``<id><TAB>start<TAB>end<TAB>mention<TAB>type<TAB>task``, then a blank line. Offsets count
    over ``title + " " + abstract``, as PubTator's do, and that string is exactly as long as the
    input text, so they are the record's offsets; each mention is the written text at its
    offsets. A record with ``passages`` (see `hsl_bioner_runtime.formats.documents`) whose first
    passage is followed by a character outside every passage (a PubTator input: title, one
    space, abstract; or BioC passages with a gap after the first) has that passage's text
    (from the start of the text) as its title, that character stands for the space, and the
    rest of the text (all later passages and the gaps between them, as spaces) is the abstract:
    a PubTator input is written back as it was read. Otherwise the title is the text's first
    line without its trailing whitespace; the character
    after it (the line break, or the first character of that trailing whitespace) stands for the
    space between title and abstract, and the abstract is the rest of the text, so a ``\\r\\n``
    (two characters) after the title leaves one space at the start of the abstract. A text
    without a line break is all title, with an empty abstract line. (Readers that strip their
    lines, e.g. the `bioc` package, would lose trailing whitespace of the title and shift the
    abstract; this rule leaves none there.) So that every line stays one line and every field one
    field, each of these characters is replaced by ONE character in the title, the abstract, the
    mentions, the type and the task: the tab and every line break of `str.splitlines`
    (``\\n``, ``\\r``, ``\\x0b``, ``\\x0c``, ``\\x1c``-``\\x1e``, ``\\x85``, U+2028, U+2029) by a
    space, ``|`` by ``¦`` (U+00A6: readers find ``|t|`` and ``|a|`` anywhere in a line), and a
    lone surrogate by U+FFFD.

Document ids (CoNLL, PubTator and BioC)
    The record's ``id`` as a string (``str(id)``); a record without one (no ``id``, ``None`` or
    ``""``) gets the ``default_id`` its caller gives, e.g. the number of its input line, so that
    ids are unique when either every input document has an id or none has. In the id, ``%``,
    ``|``, whitespace, control and format characters and lone surrogates are percent-encoded
    (the bytes of their UTF-8 form, a surrogate's as Python's ``surrogatepass`` writes them), so
    that ``urllib.parse.unquote`` gives the original back: ``"PMID 1|a"`` is written
    ``PMID%201%7Ca``. (The same id in every format, so that files written from one input in two
    formats can be scored against each other.)
"""
import json
import re
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

from hsl_bioner_runtime.formats.documents import Document
from hsl_bioner_runtime.text import is_separator

RECORD_FORMATS: Tuple[str, ...] = ("json", "conll", "pubtator")
"""The formats of `format_record`: each record a complete piece of the file."""

OUTPUT_FORMATS: Tuple[str, ...] = RECORD_FORMATS + ("bioc-xml", "bioc-json")
"""The formats of `document_writer`."""

Record = Mapping[str, Any]
DefaultId = Union[int, str]

# The characters at which `str.splitlines` breaks a line.
LINE_BREAKS = "\n\x0b\x0c\r\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAK_RE = re.compile(f"[{LINE_BREAKS}]")
# What `to_json` escapes: lone surrogates, and the line breaks that `json.dumps` writes raw.
_JSON_ESCAPED_RE = re.compile("[\ud800-\udfff\x85\u2028\u2029]")
_SURROGATES = range(0xD800, 0xE000)

# One character for one, so that offsets stay valid: text fields of line-based formats.
_LINE_TABLE: Dict[int, str] = {
    **{cp: "\ufffd" for cp in _SURROGATES},
    **{ord(c): " " for c in LINE_BREAKS + "\t"},
}
_PUBTATOR_TABLE: Dict[int, str] = {**_LINE_TABLE, ord("|"): "\u00a6"}


def to_json(record: Record) -> str:
    """The record as one JSON line (lone surrogates and Unicode line breaks escaped, see the
    module docstring)."""
    line = json.dumps(record, ensure_ascii=False)
    return _JSON_ESCAPED_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", line) + "\n"


def to_conll(record: Record, default_id: DefaultId) -> str:
    """The record in CoNLL: ``# newdoc id = <id>``, then a line per token (token, start, end,
    a tag per task) and a blank line after each sentence."""
    lines = [f"# newdoc id = {document_id(record, default_id)}"]
    for sentence in record["sentences"]:
        tags_by_task = list(sentence["tags"].values())
        for i, (token, start, end) in enumerate(sentence["tokens"]):
            columns = [token.translate(_LINE_TABLE), str(start), str(end)]
            columns.extend(tags[i] for tags in tags_by_task)
            lines.append("\t".join(columns))
        lines.append("")
    return "\n".join(lines) + "\n"


def to_pubtator(record: Record, default_id: DefaultId) -> str:
    """The record in PubTator: ``id|t|title``, ``id|a|abstract``, a tab-separated line per entity
    (id, start, end, mention, type, task), a blank line."""
    doc_id = document_id(record, default_id)
    title, abstract = _title_and_abstract(record)
    written = f"{title} {abstract}"
    lines = [f"{doc_id}|t|{title}", f"{doc_id}|a|{abstract}"]
    for entity in record["entities"]:
        start, end = checked_entity_span(record, entity, doc_id)
        type_, task = (str(entity[key]).translate(_PUBTATOR_TABLE) for key in ("type", "task"))
        lines.append("\t".join([doc_id, str(start), str(end), written[start:end], type_, task]))
    return "\n".join(lines) + "\n\n"


def checked_entity_span(record: Record, entity: Record, doc_id: str) -> Tuple[int, int]:
    """The ``start`` and ``end`` of an entity of the record; `ValueError` (naming `doc_id`)
    unless they are a non-empty span of the text whose characters are the entity's ``text``."""
    text = record["text"]
    start, end = entity["start"], entity["end"]
    if not (0 <= start < end <= len(text) and text[start:end] == entity["text"]):
        raise ValueError(
            f"Document {doc_id}: entity {entity['text']!r} at {start}-{end} is not the text "
            f"there ({text[max(start, 0) : max(end, 0)]!r})."
        )
    return start, end


def format_record(record: Record, output_format: str, default_id: DefaultId) -> str:
    """The record in `output_format` (one of `RECORD_FORMATS`); `default_id` names a record
    without ``id`` in CoNLL and PubTator."""
    writer = _WRITERS.get(output_format)
    if writer is None:
        raise ValueError(
            f"output format must be one of {', '.join(RECORD_FORMATS)}, got {output_format!r}"
            + (" (BioC is one collection per file: use a DocumentWriter)." if output_format in
               OUTPUT_FORMATS else ".")
        )
    return writer(record, default_id)


class DocumentWriter:
    """Writes the records of one output file: `header`, then `document` for each record (in
    input order), then `footer`; the file is the concatenation of the strings returned. One
    writer per file."""

    def header(self) -> str:
        """What the file starts with."""
        return ""

    def document(self, record: Record, default_id: DefaultId) -> str:
        """One record; `default_id` (e.g. its input line or document number) names it when it
        has no ``id``."""
        raise NotImplementedError

    def footer(self) -> str:
        """What the file ends with."""
        return ""


class RecordWriter(DocumentWriter):
    """The writer of a record format (`RECORD_FORMATS`): no header or footer, `format_record`
    for each record.

    # Parameters

    output_format : `str`
        One of `RECORD_FORMATS`.
    """

    def __init__(self, output_format: str) -> None:
        if output_format not in RECORD_FORMATS:
            raise ValueError(
                f"a record format is one of {', '.join(RECORD_FORMATS)}, got {output_format!r}."
            )
        self.output_format = output_format

    def document(self, record: Record, default_id: DefaultId) -> str:
        return format_record(record, self.output_format, default_id)


def document_writer(
    output_format: str, source: str = "hsl-bioner", date: Optional[str] = None
) -> DocumentWriter:
    """The writer of one file in `output_format` (one of `OUTPUT_FORMATS`). `source` and `date`
    (ISO date; default today) fill the BioC collection's fields and are ignored by the other
    formats."""
    if output_format in RECORD_FORMATS:
        return RecordWriter(output_format)
    # Imported here: the BioC writers build on this module.
    from hsl_bioner_runtime.formats import bioc_writers

    if output_format == "bioc-xml":
        return bioc_writers.BioCXMLWriter(source, date)
    if output_format == "bioc-json":
        return bioc_writers.BioCJSONWriter(source, date)
    raise ValueError(
        f"output format must be one of {', '.join(OUTPUT_FORMATS)}, got {output_format!r}."
    )


def _title_and_abstract(record: Record) -> Tuple[str, str]:
    """The PubTator title and abstract of a record (see the module docstring)."""
    text = record["text"]
    if record.get("passages"):
        passages = Document.from_json(record).passages
        cut = passages[0].end
        # The next character must be outside every passage (empty ones hold none).
        following = next((p.offset for p in passages[1:] if p.text), len(text))
        if cut < len(text) and following > cut:
            written = text.translate(_PUBTATOR_TABLE)
            return written[:cut], written[cut + 1 :]
    return pubtator_passages(text)


def pubtator_passages(text: str) -> Tuple[str, str]:
    """The PubTator title and abstract of a text (see the module docstring): for every offset
    ``i`` of the text, ``(title + " " + abstract)[i]`` is ``text[i]`` or the one character that
    replaces it; a text without a line break is ``(text, "")``, else
    ``len(title) + 1 + len(abstract) == len(text)``."""
    written = text.translate(_PUBTATOR_TABLE)
    first_break = _LINE_BREAK_RE.search(text)
    if first_break is None:
        return written, ""
    cut = first_break.start()
    while cut > 0 and written[cut - 1].isspace():
        cut -= 1
    return written[:cut], written[cut + 1 :]


def document_id(record: Record, default_id: DefaultId) -> str:
    """The id written for a record: its ``id``, else `default_id`, percent-encoded (see the
    module docstring). An empty `default_id` for a record without ``id`` raises `ValueError`."""
    value = record.get("id")
    doc_id = "" if value is None else str(value)
    if not doc_id:
        doc_id = str(default_id)
        if not doc_id:
            raise ValueError("A document without an id needs a non-empty default id.")
    return "".join(_percent_encoded(c) if _needs_encoding(c) else c for c in doc_id)


def _needs_encoding(ch: str) -> bool:
    return ch in "%|" or is_separator(ch) or 0xD800 <= ord(ch) <= 0xDFFF


def _percent_encoded(ch: str) -> str:
    return "".join(f"%{byte:02X}" for byte in ch.encode("utf-8", "surrogatepass"))


_WRITERS: Dict[str, Callable[[Record, DefaultId], str]] = {
    "json": lambda record, _default_id: to_json(record),
    "conll": to_conll,
    "pubtator": to_pubtator,
}
