"""Strict entity-level scoring of tagged documents against gold documents (`bioner-score`).

Both sides are PubTator or BioC files (`hsl_bioner_runtime.formats.readers`), read with their
annotations. As the BioCreative evaluations count, an entity is its document id, its offsets
(all its locations, document-level) and its type, and a predicted entity is correct only when
GOLD has exactly that entity: precision = correct / predicted, recall = correct / gold, F1 their
harmonic mean (0 when a denominator is 0), per type and over all types (micro-averaged).

- Duplicates: the same entity twice on one side counts once (entities are a set); how many were
  dropped is reported.
- A document of GOLD that PRED does not have counts its entities as misses, and is reported.
- A document of PRED that GOLD does not have is an error (the files do not belong together,
  e.g. a PRED file of another corpus or with changed ids), and so is an id twice in one file.
- A document in both must have the same text (up to the characters the formats replace one
  for one: line breaks and tabs, ``|``, control characters, lone surrogates), else its offsets
  mean nothing: an error naming the document and the first differing character.
- `types` renames types on both sides before counting (e.g. ``{"SpecificDisease": "Disease"}``
  to compare a corpus's types with a model's); a type renamed to ``""`` is left out.

Every annotation of a file counts, including those a tagger carried over from its input
(``--keep-annotations``): score a file tagged without them.
"""
import json
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Set, Tuple

from hsl_bioner_runtime.formats.documents import DOCUMENT_FORMATS, Document
from hsl_bioner_runtime.formats.readers import HEAD_BYTES, detect_input_format, read_documents

Entity = Tuple[Tuple[Tuple[int, int], ...], str]  # (locations, type) within one document

# Characters that some output format writes as another one (see
# `hsl_bioner_runtime.formats.writers` and `bioc_writers`) compare equal to it.
# (PubTator writes a line break as a space, XML some control characters as U+FFFD: all of them
# compare equal to a space.)
_COMPARED = {
    **{
        cp: " "
        for cp in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0xD800, 0xE000)]
    },
    **{cp: " " for cp in (0xFFFD, 0xFFFE, 0xFFFF)},
    ord("|"): "\u00a6",
}


@dataclass
class Counts:
    """Entity counts of one type (or all): `gold`, `predicted` and `correct`."""

    gold: int = 0
    predicted: int = 0
    correct: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_json(self) -> Dict[str, float]:
        return {
            "gold": self.gold,
            "predicted": self.predicted,
            "correct": self.correct,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


@dataclass
class Score:
    """What `score_documents` found: `by_type` and `overall` counts, the number of documents of
    each side, the ids of GOLD documents missing from PRED and the duplicates dropped per side."""

    by_type: Dict[str, Counts] = field(default_factory=dict)
    overall: Counts = field(default_factory=Counts)
    gold_documents: int = 0
    predicted_documents: int = 0
    missing_from_prediction: List[str] = field(default_factory=list)
    duplicates: Dict[str, int] = field(default_factory=lambda: {"gold": 0, "predicted": 0})

    def to_json(self) -> Dict:
        return {
            "overall": self.overall.to_json(),
            "types": {name: counts.to_json() for name, counts in sorted(self.by_type.items())},
            "documents": {
                "gold": self.gold_documents,
                "predicted": self.predicted_documents,
                "missing_from_prediction": list(self.missing_from_prediction),
            },
            "duplicates": dict(self.duplicates),
        }

    def to_text(self) -> str:
        """A table: per type and overall, counts and percentages."""
        rows = [("type", "gold", "pred", "correct", "precision", "recall", "f1")]
        for name, counts in [*sorted(self.by_type.items()), ("overall", self.overall)]:
            rows.append(
                (
                    name or "(no type)",
                    str(counts.gold),
                    str(counts.predicted),
                    str(counts.correct),
                    f"{100 * counts.precision:.2f}",
                    f"{100 * counts.recall:.2f}",
                    f"{100 * counts.f1:.2f}",
                )
            )
        width = max(len(row[0]) for row in rows)
        lines = [
            f"{row[0]:<{width}}" + "".join(f"{cell:>10}" for cell in row[1:]) for row in rows
        ]
        lines.append(
            f"documents: {self.gold_documents} gold, {self.predicted_documents} predicted"
        )
        if self.missing_from_prediction:
            shown = ", ".join(self.missing_from_prediction[:5])
            more = len(self.missing_from_prediction) - 5
            lines.append(
                f"{len(self.missing_from_prediction)} gold documents are not in the prediction "
                f"(their entities count as misses): {shown}"
                + (f" and {more} more" if more > 0 else "")
            )
        if any(self.duplicates.values()):
            lines.append(
                f"duplicates dropped: {self.duplicates['gold']} gold, "
                f"{self.duplicates['predicted']} predicted"
            )
        return "\n".join(lines) + "\n"


def score_documents(
    gold: Iterable[Document],
    predicted: Iterable[Document],
    types: Optional[Mapping[str, str]] = None,
) -> Score:
    """Scores `predicted` documents against `gold` ones (both read with their annotations; see
    the module docstring for the rules). Raises `ValueError` for documents without ids, ids
    twice on one side, predicted documents that gold has not, and differing texts."""
    renamed = dict(types or {})
    result = Score()
    gold_by_id = _by_id(gold, "GOLD")
    predicted_by_id = _by_id(predicted, "PRED")
    result.gold_documents, result.predicted_documents = len(gold_by_id), len(predicted_by_id)
    unknown = [doc_id for doc_id in predicted_by_id if doc_id not in gold_by_id]
    if unknown:
        raise ValueError(
            f"PRED has {len(unknown)} document(s) that GOLD has not: "
            f"{', '.join(map(repr, unknown[:5]))}"
        )
    for doc_id, gold_document in gold_by_id.items():
        gold_entities, duplicates = _entities(gold_document, renamed)
        result.duplicates["gold"] += duplicates
        predicted_document = predicted_by_id.get(doc_id)
        if predicted_document is None:
            result.missing_from_prediction.append(doc_id)
            predicted_entities: Set[Entity] = set()
        else:
            _check_same_text(doc_id, gold_document.text, predicted_document.text)
            predicted_entities, duplicates = _entities(predicted_document, renamed)
            result.duplicates["predicted"] += duplicates
        for entities, attribute in ((gold_entities, "gold"), (predicted_entities, "predicted")):
            for _, entity_type in entities:
                counts = result.by_type.setdefault(entity_type, Counts())
                setattr(counts, attribute, getattr(counts, attribute) + 1)
        for _, entity_type in gold_entities & predicted_entities:
            result.by_type[entity_type].correct += 1
    for counts in result.by_type.values():
        result.overall.gold += counts.gold
        result.overall.predicted += counts.predicted
        result.overall.correct += counts.correct
    return result


def read_scored(path: str, input_format: Optional[str] = None) -> List[Document]:
    """The documents of a PubTator or BioC file with their annotations (`input_format` one of
    `DOCUMENT_FORMATS`, detected from the file when None)."""
    with open(path, "rb") as stream:
        if input_format is None:
            input_format = detect_input_format(stream.read(HEAD_BYTES))
            stream.seek(0)
            if input_format not in DOCUMENT_FORMATS:
                raise ValueError(f"{path}: neither PubTator nor BioC (XML or JSON)")
        return list(read_documents(stream, input_format, path, keep_annotations=True))


def score_text(score: Score, as_json: bool = False) -> str:
    """The score as `Score.to_text`, or as JSON (`Score.to_json`, one object)."""
    if as_json:
        return json.dumps(score.to_json(), indent=2) + "\n"
    return score.to_text()


def _by_id(documents: Iterable[Document], side: str) -> Dict[str, Document]:
    by_id: Dict[str, Document] = {}
    for number, document in enumerate(documents, start=1):
        if document.id is None:
            raise ValueError(f"{side}: document {number} has no id, so it cannot be matched")
        if document.id in by_id:
            raise ValueError(f"{side}: the document id {document.id!r} occurs twice")
        by_id[document.id] = document
    return by_id


def _entities(document: Document, renamed: Mapping[str, str]) -> Tuple[Set[Entity], int]:
    entities: Set[Entity] = set()
    found = 0
    for annotation in document.annotations or ():
        entity_type = renamed.get(annotation.type, annotation.type)
        if entity_type == "" and annotation.type in renamed:
            continue
        found += 1
        entities.add((tuple(sorted(annotation.locations)), entity_type))
    return entities, found - len(entities)


def _check_same_text(doc_id: str, gold: str, predicted: str) -> None:
    a, b = gold.translate(_COMPARED), predicted.translate(_COMPARED)
    if a == b:
        return
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    raise ValueError(
        f"document {doc_id!r}: the texts of GOLD and PRED differ at character {at} "
        f"(GOLD {gold[max(at - 20, 0) : at + 20]!r}, "
        f"PRED {predicted[max(at - 20, 0) : at + 20]!r}), so their offsets cannot be compared"
    )
