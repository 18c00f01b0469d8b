"""Documents: what every input format is read into and what the tagger sees.

A `Document` has an id, passages, the document-level ``text`` the tagger tags and, when asked,
the annotations its input carried. Offsets are DOCUMENT-level, as PubTator and BioC define them:

- PubTator: the title is a passage at offset 0 and the abstract a passage at
  ``len(title) + 1``, so the text is ``title + " " + abstract`` and PubTator's offsets are the
  text's.
- BioC: each passage has its ``offset``; the text places every passage at its offset and fills
  the gaps between passages (and before the first one) with spaces, so that ``text[start:end]``
  is the mention at BioC offsets ``start``-``end`` whatever the gaps. A gap of more than
  `MAX_GAP` characters is refused (a corrupt offset would otherwise fill memory with spaces).
  Passages must be in order and must not overlap (an empty passage may share the offset where
  the previous one ends); otherwise `DocumentError` names the document id and the passage.
- Raw text and JSON lines: one passage, the whole text, at offset 0.

Sentences never cross a passage boundary: `document_sentences` splits each passage on its own
and shifts its tokens by the passage's offset, so an entity found in passage ``p`` at local
offset ``x`` is reported at ``p.offset + x``.

The tagger's input (and so the record of `hsl_bioner_runtime.entities.document_record`, which
passes input keys through) is `Document.to_json`::

    {"id": "PMID1", "text": "Title Abstract ...",
     "passages": [{"offset": 0, "text": "Title", "infons": {"type": "title"}}, ...],
     "annotations": [{"id": null, "type": "Disease", "text": "...", "start": 6, "end": 14,
                      "locations": [[6, 14]], "infons": {"identifier": "D003920"}}, ...]}

``id`` is left out for a document without one; ``annotations`` is there only when the input's
annotations were kept. A JSON-lines input may carry ``passages`` too (our own JSON output does):
each passage must then be the text at its offset (`Document.from_json` checks it); characters of
the text outside every passage are not tagged.
"""
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from hsl_bioner_runtime.text import TextToken, TextTokenizer

INPUT_FORMATS: Tuple[str, ...] = ("text", "jsonl", "pubtator", "bioc-xml", "bioc-json")
"""The input formats of `allennlp bioner-tag --input-format` (see the README)."""

DOCUMENT_FORMATS: Tuple[str, ...] = ("pubtator", "bioc-xml", "bioc-json")
"""The input formats read by `hsl_bioner_runtime.formats.readers.read_documents`; the line
formats (``text``, ``jsonl``) are read one line at a time by the caller."""

MAX_GAP = 1_000_000
"""Most characters of padding that `Document.from_passages` lays out before a passage."""

Infons = Mapping[str, str]


class DocumentError(ValueError):
    """A document that cannot be read or laid out. `passage` / `annotation` give the index of
    the offending passage or annotation (in `Document.passages` / `Document.annotations` order)
    so that a reader can name the line they came from."""

    def __init__(
        self, message: str, passage: Optional[int] = None, annotation: Optional[int] = None
    ) -> None:
        super().__init__(message)
        self.passage = passage
        self.annotation = annotation


@dataclass(frozen=True)
class Passage:
    """A passage: its document-level `offset`, its `text` and its `infons` (e.g.
    ``{"type": "title"}``)."""

    offset: int
    text: str
    infons: Infons = field(default_factory=dict)

    @property
    def end(self) -> int:
        return self.offset + len(self.text)

    def to_json(self) -> Dict[str, Any]:
        return {"offset": self.offset, "text": self.text, "infons": dict(self.infons)}


@dataclass(frozen=True)
class Annotation:
    """An annotation of the input: document-level `locations` (``(start, end)`` pairs; more than
    one for a discontinuous mention), its `text` (the mention), `type`, `id` (BioC's annotation
    id; None for PubTator) and other `infons` (e.g. PubTator's concept id as ``identifier``)."""

    locations: Tuple[Tuple[int, int], ...]
    text: str
    type: str
    id: Optional[str] = None
    infons: Infons = field(default_factory=dict)

    @property
    def start(self) -> int:
        return min(start for start, _ in self.locations)

    @property
    def end(self) -> int:
        return max(end for _, end in self.locations)

    def to_json(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "locations": [[start, end] for start, end in self.locations],
            "infons": dict(self.infons),
        }

    @classmethod
    def from_json(cls, value: Any) -> "Annotation":
        """The annotation of `to_json` (``locations`` may be left out: then ``start``-``end``).
        A malformed value raises `ValueError`."""
        if not isinstance(value, Mapping):
            raise ValueError(f"an annotation must be an object, got {_short(value)}")
        locations = value.get("locations")
        if locations is None:
            locations = [[value.get("start"), value.get("end")]]
        if not isinstance(locations, Sequence) or not locations:
            raise ValueError(
                f"an annotation needs 'locations' or 'start' and 'end': {_short(value)}"
            )
        pairs = []
        for location in locations:
            if not (
                isinstance(location, Sequence)
                and len(location) == 2
                and all(is_offset(x) for x in location)
            ):
                raise ValueError(f"an annotation location is a [start, end] pair: {_short(value)}")
            pairs.append((location[0], location[1]))
        text, type_, id_ = value.get("text", ""), value.get("type", ""), value.get("id")
        if not isinstance(text, str) or not isinstance(type_, str):
            raise ValueError(f"an annotation's 'text' and 'type' are strings: {_short(value)}")
        return cls(
            tuple(pairs),
            text,
            type_,
            None if id_ is None else str(id_),
            as_infons(value.get("infons")),
        )


@dataclass(frozen=True)
class Document:
    """A document: `id` (None when the input has none), its document-level `text`, its
    `passages` (in order, not overlapping, each the text at its offset) and, when the input's
    annotations were kept, `annotations` (None when they were not; every location inside the
    text, a single-location annotation's `text` the text at its location).

    Build one with `from_passages` (the text laid out from the passages, see the module
    docstring) or `from_json`; the constructor checks the invariants and raises `DocumentError`.
    """

    id: Optional[str]
    text: str
    passages: Tuple[Passage, ...]
    annotations: Optional[Tuple[Annotation, ...]] = None

    def __post_init__(self) -> None:
        previous: Optional[Passage] = None
        for i, passage in enumerate(self.passages):
            where = f"document {self.id!r}, passage {i}{_kind(passage)}"
            if not is_offset(passage.offset) or not isinstance(passage.text, str):
                raise DocumentError(
                    f"{where}: a passage needs a non-negative integer offset and a string text, "
                    f"got offset {passage.offset!r}",
                    passage=i,
                )
            if previous is not None and passage.offset < previous.end:
                raise DocumentError(
                    f"{where} starts at {passage.offset}, before the end of passage {i - 1} "
                    f"({previous.offset}-{previous.end}): passages must be in order and must "
                    "not overlap",
                    passage=i,
                )
            if self.text[passage.offset : passage.end] != passage.text:
                raise DocumentError(
                    f"{where} is not the document's text at {passage.offset}-{passage.end}",
                    passage=i,
                )
            previous = passage
        for i, annotation in enumerate(self.annotations or ()):
            _check_annotation(self, i, annotation)

    @classmethod
    def from_passages(
        cls,
        id: Optional[str],
        passages: Iterable[Passage],
        annotations: Optional[Iterable[Annotation]] = None,
    ) -> "Document":
        """The document whose text places every passage at its offset, gaps filled with
        spaces (see the module docstring)."""
        passages = tuple(passages)
        pieces: List[str] = []
        end = 0
        for i, passage in enumerate(passages):
            if is_offset(passage.offset) and isinstance(passage.text, str):
                gap = passage.offset - end
                if gap > MAX_GAP:
                    raise DocumentError(
                        f"document {id!r}, passage {i}{_kind(passage)} at offset "
                        f"{passage.offset} leaves {gap} characters without text before it "
                        f"(at most {MAX_GAP})",
                        passage=i,
                    )
                if gap >= 0:
                    pieces.append(" " * gap + passage.text)
                    end = passage.end
            # Otherwise the constructor names the passage's fault.
        kept = None if annotations is None else tuple(annotations)
        return cls(id, "".join(pieces), passages, kept)

    @classmethod
    def from_json(cls, value: Mapping[str, Any], annotations: bool = False) -> "Document":
        """The document of a tagger input or record (`to_json`'s shape): its ``text``, its
        ``passages`` (one passage of the whole text when there are none) and, if
        `annotations`, its ``annotations`` (if it has that key). A malformed value raises
        `DocumentError`."""
        text = value.get("text")
        raw_id = value.get("id")
        doc_id = None if raw_id is None or raw_id == "" else str(raw_id)
        if not isinstance(text, str):
            raise DocumentError(f"document {doc_id!r} needs a string 'text'")
        raw_passages = value.get("passages")
        if raw_passages is None:
            passages: Tuple[Passage, ...] = (Passage(0, text),)
        elif isinstance(raw_passages, Sequence) and not isinstance(raw_passages, str):
            passages = tuple(_passage(doc_id, i, p) for i, p in enumerate(raw_passages))
        else:
            raise DocumentError(f"document {doc_id!r}: 'passages' must be a list")
        kept = None
        if annotations and value.get("annotations") is not None:
            raw = value["annotations"]
            if not isinstance(raw, Sequence) or isinstance(raw, str):
                raise DocumentError(f"document {doc_id!r}: 'annotations' must be a list")
            kept = []
            for i, item in enumerate(raw):
                try:
                    kept.append(Annotation.from_json(item))
                except ValueError as error:
                    raise DocumentError(
                        f"document {doc_id!r}, annotation {i}: {error}", annotation=i
                    ) from None
        return cls(doc_id, text, passages, None if kept is None else tuple(kept))

    def to_json(self) -> Dict[str, Any]:
        """The tagger's input for this document (see the module docstring)."""
        value: Dict[str, Any] = {} if self.id is None else {"id": self.id}
        value["text"] = self.text
        value["passages"] = [passage.to_json() for passage in self.passages]
        if self.annotations is not None:
            value["annotations"] = [annotation.to_json() for annotation in self.annotations]
        return value

    def passage_at(self, start: int, end: int) -> Optional[int]:
        """The index of the passage that holds the span ``start``-``end``, or None."""
        offsets = [passage.offset for passage in self.passages]
        i = bisect_right(offsets, start) - 1
        # Empty passages may share an offset with the next one: look back past them.
        while i >= 0:
            passage = self.passages[i]
            if passage.offset <= start and end <= passage.end and passage.text:
                return i
            if passage.text:
                return None
            i -= 1
        return None


def document_sentences(
    tokenizer: TextTokenizer, document: Mapping[str, Any]
) -> List[List[TextToken]]:
    """The sentences of a tagger input (`Document.to_json`'s shape, or ``{"text": ...}``), with
    document-level offsets: each passage is split on its own (`TextTokenizer.tokenize_sentences`)
    and its tokens are shifted by its offset, so no sentence crosses a passage boundary. Invalid
    passages raise `DocumentError`."""
    passages = Document.from_json(document).passages
    sentences: List[List[TextToken]] = []
    for passage in passages:
        for sentence in tokenizer.tokenize_sentences(passage.text):
            if passage.offset:
                sentence = [
                    TextToken(t.text, t.start + passage.offset, t.end + passage.offset)
                    for t in sentence
                ]
            sentences.append(sentence)
    return sentences


def _check_annotation(document: Document, i: int, annotation: Annotation) -> None:
    where = f"document {document.id!r}, annotation {i} ({annotation.text[:40]!r})"
    if not annotation.locations:
        raise DocumentError(f"{where} has no location", annotation=i)
    for start, end in annotation.locations:
        if not (is_offset(start) and is_offset(end) and start < end <= len(document.text)):
            raise DocumentError(
                f"{where} at {start}-{end} is not a non-empty span of the document's "
                f"{len(document.text)} characters",
                annotation=i,
            )
    if len(annotation.locations) == 1:
        start, end = annotation.locations[0]
        if document.text[start:end] != annotation.text:
            raise DocumentError(
                f"{where} at {start}-{end} is not the text there "
                f"({document.text[start:end][:40]!r})",
                annotation=i,
            )


def _passage(doc_id: Optional[str], i: int, value: Any) -> Passage:
    if not isinstance(value, Mapping):
        raise DocumentError(f"document {doc_id!r}, passage {i} must be an object", passage=i)
    try:
        infons = as_infons(value.get("infons"))
    except ValueError as error:
        raise DocumentError(f"document {doc_id!r}, passage {i}: {error}", passage=i) from None
    return Passage(value.get("offset"), value.get("text", ""), infons)


def as_infons(value: Any) -> Dict[str, str]:
    """Infons as str -> str (None -> "", numbers and booleans as JSON writes them)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"infons must be an object, got {_short(value)}")
    return {str(k): _infon_value(v) for k, v in value.items()}


def _infon_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_offset(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _kind(passage: Passage) -> str:
    kind = passage.infons.get("type") if isinstance(passage.infons, Mapping) else None
    return f" ({kind})" if kind else ""


def _short(value: Any) -> str:
    return repr(value)[:80]
