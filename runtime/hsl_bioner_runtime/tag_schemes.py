"""Tag schemes of IOB corpora: parse, validate and convert tag sequences.

Pure functions on lists of strings (no AllenNLP dependency), shared by the dataset reader, the
model's decoding constraints and the predictor.

A tag is ``O`` or ``<letter>-<type>``: one prefix letter, a hyphen, a non-empty entity type
without whitespace (the type may itself contain hyphens: ``B-Gene-or-protein`` has type
``Gene-or-protein``). Entities never cross the ends of a tag sequence (a sentence).

Schemes (names are case-insensitive; aliases in brackets):

``IOB1``
    ``I-T`` marks entity tokens; ``B-T`` is only used on the first token of an entity that
    directly follows another entity of the same type T (CoNLL-2003 style).
``BIO`` [``IOB2``]
    Every entity starts with ``B-T``; ``I-T`` must follow ``B-T`` or ``I-T``.
``IOBES`` [``BIOES``]
    ``B-`` begins, ``I-`` continues and ``E-`` ends an entity of two tokens or more; ``S-`` is a
    single-token entity. ``I-``/``E-`` must follow ``B-``/``I-`` of the same type, and an entity
    opened by ``B-`` must be closed by ``E-``.
``BIOUL`` [``BILOU``]
    The same scheme with AllenNLP's letters: ``L-`` (last) for ``E-`` and ``U-`` (unit) for ``S-``.

When *reading* (:func:`tags_to_spans`, :func:`validate_tags`, ``from_scheme`` of
:func:`convert`) ``IOBES`` and ``BIOUL`` are the same: both accept either letter set. When
*writing* (:func:`spans_to_tags`, ``to_scheme``) ``IOBES`` writes E/S and ``BIOUL`` writes L/U.
The coding schemes a model is trained on are ``BIO`` and ``BIOUL`` (:data:`CODING_SCHEMES`): the
names that AllenNLP's ``allowed_transitions`` and ``SpanBasedF1Measure`` understand.
"""
import re
from typing import Dict, List, Optional, Sequence, Tuple

Span = Tuple[str, int, int]
"""An entity: (type, start, end), token indices, ``end`` inclusive."""

INPUT_SCHEMES: Tuple[str, ...] = ("IOB1", "BIO", "IOBES", "BIOUL")
"""Canonical scheme names accepted for reading tag sequences."""

CODING_SCHEMES: Tuple[str, ...] = ("BIO", "BIOUL")
"""Schemes a model's labels may be coded in (AllenNLP's names)."""

_ALIASES: Dict[str, str] = {
    "IOB1": "IOB1",
    "BIO": "BIO",
    "IOB2": "BIO",
    "IOBES": "IOBES",
    "BIOES": "IOBES",
    "BIOUL": "BIOUL",
    "BILOU": "BIOUL",
}

# Prefix letters accepted when reading each scheme, mapped to their role: B(egin), I(nside),
# E(nd), S(ingle).
_READ_LETTERS: Dict[str, Dict[str, str]] = {
    "IOB1": {"B": "B", "I": "I"},
    "BIO": {"B": "B", "I": "I"},
    "IOBES": {"B": "B", "I": "I", "E": "E", "S": "S", "L": "E", "U": "S"},
    "BIOUL": {"B": "B", "I": "I", "E": "E", "S": "S", "L": "E", "U": "S"},
}

# Letters written for the roles "E" and "S" by the schemes that have them.
_WRITE_END_SINGLE: Dict[str, Tuple[str, str]] = {"IOBES": ("E", "S"), "BIOUL": ("L", "U")}


class TagSequenceError(ValueError):
    """A tag sequence that is not valid in its scheme.

    ``position`` is the index of the first offending tag, ``message`` says what is wrong with it.
    """

    def __init__(self, position: int, message: str) -> None:
        super().__init__(position, message)
        self.position = position
        self.message = message

    def __str__(self) -> str:
        return f"tag {self.position}: {self.message}"


def normalize_scheme(scheme: str) -> str:
    """The canonical name (one of :data:`INPUT_SCHEMES`) of a scheme name or alias.

    Raises `ValueError` for an unknown name.
    """
    canonical = _ALIASES.get(str(scheme).strip().upper())
    if canonical is None:
        raise ValueError(
            f"Unknown tag scheme {scheme!r}; known schemes: {', '.join(sorted(_ALIASES))}."
        )
    return canonical


def check_entity_type(entity_type: str) -> None:
    """Raises `ValueError` unless ``entity_type`` can be written in a tag (non-empty string
    without whitespace)."""
    if not isinstance(entity_type, str) or not entity_type:
        raise ValueError(f"An entity type must be a non-empty string, not {entity_type!r}.")
    if any(ch.isspace() for ch in entity_type):
        raise ValueError(f"An entity type must not contain whitespace: {entity_type!r}.")


def check_type_map(type_map: Optional[Dict[str, str]]) -> None:
    """Raises `ValueError` unless every value of ``type_map`` is ``"O"`` or a valid entity type."""
    for source, target in (type_map or {}).items():
        if target != "O":
            try:
                check_entity_type(target)
            except ValueError as error:
                raise ValueError(f"type_map[{source!r}]: {error}") from None


# (tag, scheme) -> (role, type) of the valid tags seen so far: corpora use a handful of tags.
_SPLIT_CACHE: Dict[Tuple[str, str], Tuple[str, str]] = {}
_SPLIT_CACHE_SIZE = 10_000


def _split_tag(tag: str, position: int, scheme: str) -> Tuple[str, str]:
    """(role, type) of a tag, role in "OBIES"; raises `TagSequenceError` on a malformed tag."""
    try:
        return _SPLIT_CACHE[tag, scheme]
    except (KeyError, TypeError):
        pass
    split = _split_tag_uncached(tag, position, scheme)
    if len(_SPLIT_CACHE) >= _SPLIT_CACHE_SIZE:
        _SPLIT_CACHE.clear()
    _SPLIT_CACHE[tag, scheme] = split
    return split


def _split_tag_uncached(tag: str, position: int, scheme: str) -> Tuple[str, str]:
    if tag == "O":
        return "O", ""
    if not isinstance(tag, str):
        raise TagSequenceError(position, f"tag {tag!r} is not a string")
    letters = _READ_LETTERS[scheme]
    allowed = ", ".join(f"{letter}-" for letter in letters)
    if tag == "":
        raise TagSequenceError(position, "empty tag")
    if any(ch.isspace() for ch in tag):
        raise TagSequenceError(position, f"tag {tag!r} contains whitespace")
    if len(tag) < 2 or tag[1] != "-" or tag[0] not in letters:
        raise TagSequenceError(
            position,
            f"unknown tag {tag!r}: {scheme} tags are O or start with one of {allowed} "
            "followed by the entity type",
        )
    if len(tag) == 2:
        raise TagSequenceError(position, f"tag {tag!r} has an empty entity type")
    return letters[tag[0]], tag[2:]


def _parse(tags: Sequence[str], scheme: str) -> List[Span]:
    """The spans of a tag sequence in a canonical scheme; raises `TagSequenceError` at the
    first offending tag. One pass, no look-ahead: the position is where the violation shows."""
    spans: List[Span] = []
    open_type: Optional[str] = None  # type of the entity that the previous tag belongs to
    open_start = 0
    previous = ""
    iobes = scheme in ("IOBES", "BIOUL")
    for i, tag in enumerate(tags):
        role, entity_type = _split_tag(tag, i, scheme)
        if iobes:
            # open_type is set only between a B- and its E-.
            if open_type is not None:
                if role in ("I", "E") and entity_type == open_type:
                    if role == "E":
                        spans.append((open_type, open_start, i))
                        open_type = None
                else:
                    raise TagSequenceError(
                        i,
                        f"{tag!r} cannot follow {previous!r}: in {scheme} an entity begun with "
                        f"B- must go on with I-{open_type} and end with an E- (or L-) tag "
                        f"of type {open_type}",
                    )
            elif role == "B":
                open_type, open_start = entity_type, i
            elif role == "S":
                spans.append((entity_type, i, i))
            elif role in ("I", "E"):
                after = f"after {previous!r}" if i > 0 else "at the start of the sentence"
                raise TagSequenceError(
                    i,
                    f"{tag!r} {after} continues no entity: in {scheme} I- and E- (or L-) "
                    "must follow B- or I- of the same type",
                )
        elif role == "O":
            if open_type is not None:
                spans.append((open_type, open_start, i - 1))
            open_type = None
        elif scheme == "BIO":
            if role == "B":
                if open_type is not None:
                    spans.append((open_type, open_start, i - 1))
                open_type, open_start = entity_type, i
            elif entity_type != open_type:
                after = f"after {previous!r}" if i > 0 else "at the start of the sentence"
                raise TagSequenceError(
                    i,
                    f"{tag!r} {after} continues no entity: in BIO an I-{entity_type} must "
                    f"follow B-{entity_type} or I-{entity_type}",
                )
        else:  # IOB1
            if role == "B" and entity_type != open_type:
                after = f"after {previous!r}" if i > 0 else "at the start of the sentence"
                raise TagSequenceError(
                    i,
                    f"{tag!r} {after}: in IOB1 B- only starts an entity that directly follows "
                    f"an entity of the same type (I-{entity_type} starts one otherwise; is the "
                    "file in BIO?)",
                )
            if role == "B" or entity_type != open_type:
                if open_type is not None:
                    spans.append((open_type, open_start, i - 1))
                open_type, open_start = entity_type, i
        previous = tag
    if open_type is not None:
        if iobes:
            raise TagSequenceError(
                len(tags) - 1,
                f"the sentence ends inside an entity ({previous!r}): in {scheme} an entity "
                f"begun with B- must end with an E- (or L-) tag",
            )
        spans.append((open_type, open_start, len(tags) - 1))
    return spans


# A valid BIO sequence, tags joined by line ends: a fast check for the common case; anything it
# does not accept goes through `_parse`, which finds the offending tag.
_VALID_BIO = re.compile(r"(?:O\n|B-(\S+)\n(?:I-\1\n)*)*")


def _is_plainly_valid_bio(tags: Sequence[str]) -> bool:
    if not tags:
        return True
    try:
        joined = "\n".join(tags) + "\n"
    except TypeError:
        return False
    # split() tells whether every tag is non-empty and free of whitespace.
    return len(joined.split()) == len(tags) and _VALID_BIO.fullmatch(joined) is not None


def validate_tags(tags: Sequence[str], scheme: str) -> None:
    """Checks a tag sequence against a scheme.

    Raises `TagSequenceError` with the index of the first offending tag: a malformed tag (unknown
    prefix such as ``X-Foo`` or ``B_Foo``, empty type ``B-``, whitespace), or a tag that the scheme
    does not allow where it stands (see the module docstring). Raises `ValueError` for an unknown
    scheme name.
    """
    scheme = normalize_scheme(scheme)
    if scheme == "BIO" and _is_plainly_valid_bio(tags):
        return
    _parse(tags, scheme)


def tags_to_spans(tags: Sequence[str], scheme: str) -> List[Span]:
    """The entities of a valid tag sequence, as ``(type, start, end)`` with ``end`` inclusive, in
    order. Raises `TagSequenceError` like :func:`validate_tags` if the sequence is not valid."""
    return _parse(tags, normalize_scheme(scheme))


def spans_to_tags(spans: Sequence[Span], length: int, scheme: str) -> List[str]:
    """The tag sequence of ``length`` tokens in ``scheme`` that marks exactly ``spans``.

    Spans may come in any order; they must lie within ``[0, length)``, have ``start <= end``,
    not overlap, and have valid types (else `ValueError`). Adjacent spans of the same type stay
    separate entities (in IOB1 the second one starts with ``B-``).
    """
    scheme = normalize_scheme(scheme)
    tags = ["O"] * length
    previous_end, previous_type = -1, None
    for entity_type, start, end in sorted(spans, key=lambda span: (span[1], span[2])):
        check_entity_type(entity_type)
        if not 0 <= start <= end < length:
            raise ValueError(
                f"Span {(entity_type, start, end)} does not fit a sequence of length {length}."
            )
        if start <= previous_end:
            raise ValueError(f"Span {(entity_type, start, end)} overlaps another span.")
        if scheme == "IOB1":
            first = "B" if (previous_end == start - 1 and previous_type == entity_type) else "I"
            tags[start] = f"{first}-{entity_type}"
            for i in range(start + 1, end + 1):
                tags[i] = f"I-{entity_type}"
        elif scheme == "BIO" or start < end:
            tags[start] = f"B-{entity_type}"
            for i in range(start + 1, end + 1):
                tags[i] = f"I-{entity_type}"
            if scheme != "BIO":
                tags[end] = f"{_WRITE_END_SINGLE[scheme][0]}-{entity_type}"
        else:
            tags[start] = f"{_WRITE_END_SINGLE[scheme][1]}-{entity_type}"
        previous_end, previous_type = end, entity_type
    return tags


def map_spans(spans: Sequence[Span], type_map: Optional[Dict[str, str]]) -> List[Span]:
    """Renames entity types by ``type_map``; a type mapped to ``"O"`` drops its entities, an
    unmapped type passes through unchanged."""
    if not type_map:
        return list(spans)
    mapped: List[Span] = []
    for entity_type, start, end in spans:
        new_type = type_map.get(entity_type, entity_type)
        if new_type != "O":
            mapped.append((new_type, start, end))
    return mapped


def convert(
    tags: Sequence[str],
    from_scheme: str,
    to_scheme: str,
    type_map: Optional[Dict[str, str]] = None,
) -> List[str]:
    """Re-codes a tag sequence from one scheme to another, optionally renaming entity types.

    # Parameters

    tags : `Sequence[str]`
        A tag sequence valid in ``from_scheme`` (else `TagSequenceError`, see
        :func:`validate_tags`).
    from_scheme : `str`
        Any of :data:`INPUT_SCHEMES` or an alias (``IOB2`` = ``BIO``, ``BIOES``, ``BILOU``).
    to_scheme : `str`
        Any scheme :func:`spans_to_tags` writes; models use ``BIO`` or ``BIOUL``.
    type_map : `Dict[str, str]`, optional
        Maps entity types to new types, e.g. ``{"Simple_chemical": "Chemical", "CHEBI":
        "Chemical"}`` to give the datasets of one category one label set. Mapping a type to
        ``"O"`` drops its entities (their tokens become ``O``): useful to take one type out of a
        multi-type corpus, e.g. ``{"Cell": "O"}``. Types not in the map pass through unchanged.
        Mapping two types to one may make two entities adjacent; they stay separate entities.
    """
    check_type_map(type_map)
    spans = map_spans(tags_to_spans(tags, from_scheme), type_map)
    return spans_to_tags(spans, len(tags), to_scheme)


def allowed_transitions(tags: Sequence[str], scheme: str) -> List[Tuple[int, int]]:
    """The moves a CRF over `tags` (in a coding scheme, "BIO" or "BIOUL") may make, as
    ``(from, to)`` index pairs where index ``len(tags)`` is the start and ``len(tags) + 1`` the
    end of a sentence: the pairs of AllenNLP's ``allowed_transitions`` for the same tags, so that
    decoding is constrained alike with or without AllenNLP. Raises `ValueError` for another
    scheme."""
    scheme = normalize_scheme(scheme)
    if scheme not in CODING_SCHEMES:
        raise ValueError(
            f"Decoding constraints exist for {', '.join(CODING_SCHEMES)}, not {scheme!r}."
        )
    # (prefix, rest): AllenNLP compares what follows the prefix letter, hyphen included.
    labels = [("O", "") if tag == "O" else (tag[0], tag[1:]) for tag in tags]
    ends = [*labels, ("START", ""), ("END", "")]
    return [
        (i, j)
        for i, (from_prefix, from_type) in enumerate(ends)
        for j, (to_prefix, to_type) in enumerate(ends)
        if _allowed(scheme, from_prefix, from_type, to_prefix, to_type)
    ]


def _allowed(scheme: str, from_prefix: str, from_type: str, to_prefix: str, to_type: str) -> bool:
    if to_prefix == "START" or from_prefix == "END":
        return False
    if scheme == "BIOUL":
        if from_prefix == "START":
            return to_prefix in ("O", "B", "U")
        if to_prefix == "END":
            return from_prefix in ("O", "L", "U")
        return (from_prefix in ("O", "L", "U") and to_prefix in ("O", "B", "U")) or (
            from_prefix in ("B", "I") and to_prefix in ("I", "L") and from_type == to_type
        )
    if from_prefix == "START":
        return to_prefix in ("O", "B")
    if to_prefix == "END":
        return from_prefix in ("O", "B", "I")
    return to_prefix in ("O", "B") or (
        to_prefix == "I" and from_prefix in ("B", "I") and from_type == to_type
    )
