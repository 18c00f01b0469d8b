"""hsl_bioner_runtime.tagging: documents -> sentences -> batches -> records, with a fake tagger."""

import pytest

from hsl_bioner_runtime.crf import Tagging
from hsl_bioner_runtime.tagging import select_tasks, tag_documents
from hsl_bioner_runtime.text import TextTokenizer


class CapitalsAreDiseases:
    """A `SentenceTagger`: a capitalised word is a one-word Disease; records the batches."""

    def __init__(self):
        self.batches = []

    def __call__(self, sentences, tasks):
        self.batches.append([len(words) for words in sentences])
        tagged = [
            Tagging(["B-Disease" if w[:1].isupper() else "O" for w in words], [0.5] * len(words))
            for words in sentences
        ]
        return {task: tagged for task in tasks}


def _tag(documents, tagger, batch_size=32, merge="type", tasks=("a",)):
    return tag_documents(documents, tagger, list(tasks), TextTokenizer(), "BIO", merge, batch_size)


def test_batches_are_length_sorted_and_bounded_and_records_in_input_order():
    tagger = CapitalsAreDiseases()
    texts = ["one two three four. Five.", "", "Six seven.", "eight nine ten Eleven twelve."]
    records = _tag([{"text": t, "id": i} for i, t in enumerate(texts)], tagger, batch_size=2)
    assert [r["id"] for r in records] == [0, 1, 2, 3]  # counts in == counts out, in order
    sizes = [n for batch in tagger.batches for n in batch]
    assert sizes == sorted(sizes) and all(len(batch) <= 2 for batch in tagger.batches)
    assert len(sizes) == 4  # the empty text has no sentence
    assert [e["text"] for e in records[0]["entities"]] == ["Five"]
    assert [e["text"] for e in records[3]["entities"]] == ["Eleven"]
    assert records[1]["entities"] == [] and records[1]["sentences"] == []
    assert _tag([{"text": t, "id": i} for i, t in enumerate(texts)], CapitalsAreDiseases()) == (
        records
    )


def test_merge_rule_and_passed_through_keys():
    (record,) = _tag(
        [{"text": "Cancer here.", "source": "x"}], CapitalsAreDiseases(), tasks=("a", "b")
    )
    assert record["source"] == "x"
    assert [(e["text"], e["tasks"]) for e in record["entities"]] == [("Cancer", ["a", "b"])]
    (kept,) = _tag(
        [{"text": "Cancer here."}], CapitalsAreDiseases(), merge="none", tasks=("a", "b")
    )
    assert len(kept["entities"]) == 2


def test_a_document_without_text_is_named():
    with pytest.raises(ValueError, match="string 'text'.*'id': 7"):
        _tag([{"text": "fine"}, {"id": 7}], CapitalsAreDiseases())
    with pytest.raises(ValueError, match="batch_size"):
        _tag([{"text": "fine"}], CapitalsAreDiseases(), batch_size=0)


def test_select_tasks():
    assert select_tasks(None, ["a", "b"]) == ["a", "b"]
    assert select_tasks(("b",), ["a", "b"]) == ["b"]
    with pytest.raises(ValueError, match="Unknown task.*c; this folder has a, b"):
        select_tasks(["c"], ["a", "b"], "folder")
