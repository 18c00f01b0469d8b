"""Documents in, records out: the one tagging path of every front door.

The AllenNLP `bioner` predictor and the runtime's `Tagger` differ only in how they tag a batch of
sentences (the torch model, or the exported ONNX graphs). Everything around that is here, once:

    documents ──document_sentences──▶ sentences of TextTokens (each passage on its own)
              ──sorted by length, batches of at most N──▶ a `SentenceTagger`
              ──▶ {task: Tagging} per sentence, in input order
              ──document_record──▶ one record per document (entities merged by the merge rule)

Sorting by length keeps the padding of each batch small; the batch size bounds memory whatever
the number or length of the documents (the text tokenizer already caps a token's characters and a
sentence's tokens).
"""

from typing import Any, Callable, Dict, List, Mapping, Sequence

from hsl_bioner_runtime.crf import Tagging
from hsl_bioner_runtime.entities import Record, document_record
from hsl_bioner_runtime.formats.documents import document_sentences
from hsl_bioner_runtime.text import TextToken, TextTokenizer

SentenceTagger = Callable[[List[List[str]], Sequence[str]], Mapping[str, Sequence[Tagging]]]
"""Tags a batch of sentences (each a list of words) with each of the given tasks: per task, one
`Tagging` (tags and their marginal probabilities) per sentence, in order."""

TaggedSentence = Dict[str, Tagging]
"""One sentence's tags: task -> `Tagging`."""


def tag_sentences(
    sentences: Sequence[Sequence[TextToken]],
    tag_batch: SentenceTagger,
    tasks: Sequence[str],
    batch_size: int,
) -> List[TaggedSentence]:
    """Tags `sentences` with every task of `tasks` in length-sorted batches of at most
    `batch_size` sentences (little padding); the results are in input order."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size!r}.")
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    results: List[TaggedSentence] = [{} for _ in sentences]
    for begin in range(0, len(order), batch_size):
        rows = order[begin : begin + batch_size]
        by_task = tag_batch([[token.text for token in sentences[i]] for i in rows], tasks)
        for j, i in enumerate(rows):
            results[i] = {task: by_task[task][j] for task in tasks}
    return results


def tag_documents(
    documents: Sequence[Mapping[str, Any]],
    tag_batch: SentenceTagger,
    tasks: Sequence[str],
    tokenizer: TextTokenizer,
    label_encoding: str,
    merge: str = "type",
    batch_size: int = 32,
) -> List[Record]:
    """The record of each document (`hsl_bioner_runtime.entities.document_record`), in order.

    A document is ``{"text": ..., "id": ..., "passages": [...]}`` (only ``text`` is required; every
    key is passed through to the record): each passage (default: the whole text) is split into
    sentences by `tokenizer`, the sentences of all documents are tagged together by `tag_batch`
    (see `tag_sentences`) with `tasks`, whose tags are in `label_encoding`, and the entities of
    several tasks are combined by the `merge` rule. A document without a string ``text`` or with
    invalid passages raises `ValueError` quoting it."""
    sentences_of = [_sentences_of(tokenizer, document) for document in documents]
    tagged = tag_sentences(
        [sentence for sentences in sentences_of for sentence in sentences],
        tag_batch,
        tasks,
        batch_size,
    )
    records = []
    first = 0
    for document, sentences in zip(documents, sentences_of):
        last = first + len(sentences)
        records.append(
            document_record(document, sentences, tagged[first:last], label_encoding, merge)
        )
        first = last
    return records


def select_tasks(tasks: object, known: Sequence[str], owner: str = "model") -> List[str]:
    """`tasks` (the task heads asked for; `None`: all of `known`) checked against `known` (those
    of the `owner`, "model" or "folder"), as a list: `ValueError` for a string (whose characters
    would be read as task names), an empty list, non-strings, duplicates or unknown names."""
    if tasks is None:
        return list(known)
    if isinstance(tasks, str) or not isinstance(tasks, Sequence):
        raise ValueError(
            f"tasks must be a list of task names, e.g. [{known[0]!r}], got {tasks!r}; "
            f"this {owner} has {', '.join(known)}."
        )
    selected = list(tasks)
    if not selected:
        raise ValueError(f"tasks is empty; leave it out to run all of {', '.join(known)}.")
    if not all(isinstance(task, str) for task in selected):
        raise ValueError(f"tasks must be task names (strings), got {selected!r}.")
    repeated = sorted({task for task in selected if selected.count(task) > 1})
    if repeated:
        raise ValueError(f"tasks names {', '.join(repeated)} more than once.")
    unknown = sorted(set(selected) - set(known))
    if unknown:
        raise ValueError(
            f"Unknown task(s) {', '.join(unknown)}; this {owner} has {', '.join(known)}."
        )
    return selected


def _sentences_of(tokenizer: TextTokenizer, document: Mapping[str, Any]) -> List[List[TextToken]]:
    if not isinstance(document, Mapping) or not isinstance(document.get("text"), str):
        raise ValueError(f"Input needs a string 'text', got {str(document)[:80]!r}")
    return document_sentences(tokenizer, document)
