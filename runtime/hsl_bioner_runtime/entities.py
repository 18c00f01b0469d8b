"""From tags to entities: spans with character offsets and scores, merge rules, document records.

What a tagger does after decoding, the same for the AllenNLP predictor and the exported runtime:
each sentence's tags (one sequence per task head, with the marginal probability of every tag)
become entities with character offsets into the document, the entities of several heads are
merged, and the document becomes its record (the JSON form that the writers of
`hsl_bioner_runtime.formats` turn into files):

    {**input keys, "entities": [{"start", "end", "text", "type", "task", "score"} ...],
     "sentences": [{"start", "end", "tokens": [[text, start, end] ...],
                    "tags": {task: [tag ...]}} ...]}

Offsets are code points of the document's ``text`` (``text[start:end]`` is the mention); they
never fall inside a token. Records are plain dicts of str, int, float and lists, so that
`json.dumps` writes them as they are.
"""
import bisect
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from hsl_bioner_runtime.tag_schemes import tags_to_spans
from hsl_bioner_runtime.text import TextToken

MERGE_RULES: Tuple[str, ...] = ("type", "exact", "none")
"""How the entities of several task heads combine (see `merge_entities`)."""

SCORE_DIGITS = 4
"""Decimal digits kept of an entity's score."""

TaskTags = Tuple[Sequence[str], Sequence[float]]
"""One task head's tags of one sentence and the marginal probability of each tag."""

Record = Dict[str, Any]


def sentence_entities(
    text: str, tokens: Sequence[TextToken], tagged: Mapping[str, TaskTags], scheme: str
) -> List[Record]:
    """The entities of one tagged sentence, every task's, in task then span order.

    `tokens` are the sentence's tokens with offsets into the document `text`; `tagged` maps each
    task to its tags (in `scheme`, a name of `hsl_bioner_runtime.tag_schemes`) and their marginal
    probabilities. An entity's ``score`` is the mean marginal probability of its tags, rounded to
    `SCORE_DIGITS` digits. A task whose tags or probabilities do not match the tokens one for one
    raises `ValueError` (nothing is silently dropped).
    """
    entities: List[Record] = []
    for task, (tags, probs) in tagged.items():
        if not len(tags) == len(probs) == len(tokens):
            raise ValueError(
                f"Task {task!r}: {len(tags)} tags and {len(probs)} probabilities for "
                f"{len(tokens)} tokens of the sentence at {_where(tokens)}."
            )
        for entity_type, first, last in tags_to_spans(tags, scheme):
            start, end = tokens[first].start, tokens[last].end
            score = sum(probs[first : last + 1]) / (last - first + 1)
            entities.append(
                {
                    "start": start,
                    "end": end,
                    "text": text[start:end],
                    "type": entity_type,
                    "task": task,
                    "score": round(score, SCORE_DIGITS),
                }
            )
    return entities


def sentence_record(tokens: Sequence[TextToken], tagged: Mapping[str, TaskTags]) -> Record:
    """The JSON form of one tagged sentence: its span, its tokens and every task's tags."""
    if not tokens:
        raise ValueError("A sentence record needs at least one token.")
    return {
        "start": tokens[0].start,
        "end": tokens[-1].end,
        "tokens": [[t.text, t.start, t.end] for t in tokens],
        "tags": {task: list(tags) for task, (tags, _) in tagged.items()},
    }


def document_record(
    document: Mapping[str, Any],
    sentences: Sequence[Sequence[TextToken]],
    tagged: Sequence[Mapping[str, TaskTags]],
    scheme: str,
    merge: str = "type",
) -> Record:
    """The record of one tagged document: its input keys passed through (``text``, ``id`` and
    any other), then ``entities`` (merged by the `merge` rule, see `merge_entities`) and
    ``sentences``.

    `document` must hold the string ``text`` that `sentences` (its tokens, in order) were cut
    from; `tagged` holds one task -> (tags, probabilities) mapping per sentence. Input keys named
    ``entities`` or ``sentences`` are replaced. The caller makes the passed-through values
    JSON-serialisable (the AllenNLP predictor sanitises them); nothing else is copied.
    """
    text = document.get("text")
    if not isinstance(text, str):
        raise ValueError(f"A document needs a string 'text', got {str(document)[:80]!r}")
    if len(sentences) != len(tagged):
        raise ValueError(
            f"{len(sentences)} sentences but {len(tagged)} tagged sentences for the document "
            f"{text[:80]!r}."
        )
    entities: List[Record] = []
    records: List[Record] = []
    for tokens, by_task in zip(sentences, tagged):
        records.append(sentence_record(tokens, by_task))
        entities.extend(sentence_entities(text, tokens, by_task, scheme))
    return {**document, "entities": merge_entities(entities, merge), "sentences": records}


def merge_entities(entities: Sequence[Record], rule: str) -> List[Record]:
    """Combines the entities that several task heads found in one document.

    - "none": every head's entities, as found.
    - "exact": entities with the same span and type are one entity, with the ``task`` and
      ``score`` of the most confident head and ``tasks`` listing every head that found it.
    - "type": as "exact"; then, of overlapping entities of the SAME type, only the most confident
      is kept (ties: the longer one). Entities of different types may overlap (a gene name inside
      a disease name is both).

    The result is in reading order (start, longer first, type, task). An unknown rule raises
    `ValueError`.
    """
    if rule not in MERGE_RULES:
        raise ValueError(f"merge must be one of {', '.join(MERGE_RULES)}, got {rule!r}.")

    def reading_order(entity: Record):
        return entity["start"], -entity["end"], entity["type"], entity["task"]

    if rule == "none":
        return sorted(entities, key=reading_order)
    same_span: Dict[Tuple[int, int, str], List[Record]] = {}
    for entity in entities:
        same_span.setdefault((entity["start"], entity["end"], entity["type"]), []).append(entity)
    merged = [
        {**max(found, key=lambda e: e["score"]), "tasks": sorted(e["task"] for e in found)}
        for found in same_span.values()
    ]
    if rule == "type":
        merged = _most_confident_without_overlap(merged)
    return sorted(merged, key=reading_order)


def _most_confident_without_overlap(entities: Sequence[Record]) -> List[Record]:
    """Of overlapping entities of one type, the most confident (ties: the longer, the earlier).
    The spans kept of a type never overlap, so sorted by start they are sorted by end too, and a
    new span overlaps one of them exactly when it overlaps the last one that starts before it
    ends: one bisection per entity instead of a scan of all kept (long documents)."""
    starts: Dict[str, List[int]] = {}
    ends: Dict[str, List[int]] = {}
    kept: List[Record] = []
    for entity in sorted(entities, key=lambda e: (-e["score"], e["start"] - e["end"], e["start"])):
        type_starts = starts.setdefault(entity["type"], [])
        type_ends = ends.setdefault(entity["type"], [])
        before = bisect.bisect_left(type_starts, entity["end"]) - 1
        if before >= 0 and type_ends[before] > entity["start"]:
            continue
        where = bisect.bisect_left(type_starts, entity["start"])
        type_starts.insert(where, entity["start"])
        type_ends.insert(where, entity["end"])
        kept.append(entity)
    return kept


def _where(tokens: Sequence[TextToken]) -> str:
    return f"characters {tokens[0].start}-{tokens[-1].end}" if tokens else "(no tokens)"
