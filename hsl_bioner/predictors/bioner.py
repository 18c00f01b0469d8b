"""Raw text in, entities with character offsets out."""

import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

from allennlp.common.checks import ConfigurationError
from allennlp.common.util import JsonDict, sanitize
from allennlp.data import DatasetReader, Instance
from allennlp.data.dataset_readers import MultiTaskDatasetReader
from allennlp.data.tokenizers import Token
from allennlp.models import Model
from allennlp.predictors.predictor import Predictor

from hsl_bioner.data.tag_schemes import tags_to_spans
from hsl_bioner.data.text_tokenizer import BioTextTokenizer

OUTPUT_FORMATS = ("json", "conll", "pubtator")


@Predictor.register("bioner")
class BioNerPredictor(Predictor):
    """Tags documents of raw text and returns their entities with exact character offsets.

    Input, one document per line: raw text, or JSON ``{"text": ..., "id": ...}`` (any other keys
    are passed through). Each document is split into sentences and tokens the way the training
    corpora were (`BioTextTokenizer`), tagged by every selected task head, and each entity is
    reported with ``start``/``end`` offsets into the document (``text[start:end]`` is the mention),
    its ``type``, the ``task`` whose head found it and a ``score`` (the mean CRF marginal
    probability of its tags).

    Overlapping entities from different tasks are all kept (a chemical inside a disease name is
    both); within one task the CRF cannot produce overlaps.

    Registered as a `Predictor` with name "bioner". Options go in ``--predictor-args``.

    # Parameters

    model : `Model`
        A `hierarchical_shared_tagger`.
    dataset_reader : `DatasetReader`
        The archive's reader (`multitask`, one IOB reader per task).
    tasks : `Sequence[str]`, optional (default = all tasks of the model)
        Which task heads to run.
    output_format : `str`, optional (default = `"json"`)
        "json" (one JSON object per document), "conll" (token, tag and task per line, a blank line
        between sentences) or "pubtator" (``id|t|text`` then one tab-separated line per entity).
    max_sentences_per_batch : `int`, optional (default = `32`)
        Sentences are sorted by length and run in batches of at most this many.
    frozen : `bool`, optional (default = `True`)
        Put the model in evaluation mode.
    """

    def __init__(
        self,
        model: Model,
        dataset_reader: DatasetReader,
        tasks: Optional[Sequence[str]] = None,
        output_format: str = "json",
        max_sentences_per_batch: int = 32,
        frozen: bool = True,
    ) -> None:
        super().__init__(model, dataset_reader, frozen)
        if output_format not in OUTPUT_FORMATS:
            raise ConfigurationError(
                f"output_format must be one of {', '.join(OUTPUT_FORMATS)}, got '{output_format}'."
            )
        model_tasks: List[str] = list(model.tasks)
        self.tasks = list(tasks) if tasks else model_tasks
        unknown = sorted(set(self.tasks) - set(model_tasks))
        if unknown:
            raise ConfigurationError(
                f"Unknown task(s) {', '.join(unknown)}; this model has {', '.join(model_tasks)}."
            )
        if isinstance(dataset_reader, MultiTaskDatasetReader):
            self._readers = dataset_reader.readers
        else:
            self._readers = {task: dataset_reader for task in self.tasks}
        self.output_format = output_format
        self.max_sentences_per_batch = max_sentences_per_batch
        self.tokenizer = BioTextTokenizer()

    def load_line(self, line: str) -> JsonDict:
        stripped = line.strip()
        if stripped.startswith("{"):
            try:
                document = json.loads(stripped)
            except json.JSONDecodeError as error:
                raise ValueError(f"Invalid JSON input line {stripped[:80]!r}: {error}") from error
            if not isinstance(document.get("text"), str):
                raise ValueError(f"A JSON input line needs a string 'text': {stripped[:80]!r}")
            return document
        return {"text": line.rstrip("\r\n")}

    def dump_line(self, outputs: JsonDict) -> str:
        if self.output_format == "conll":
            return _to_conll(outputs)
        if self.output_format == "pubtator":
            return _to_pubtator(outputs)
        return json.dumps(outputs, ensure_ascii=False) + "\n"

    def predict_json(self, inputs: JsonDict) -> JsonDict:
        return self.predict_batch_json([inputs])[0]

    def predict(self, text: str) -> JsonDict:
        """Entities of one document of raw text."""
        return self.predict_json({"text": text})

    def predict_batch_json(self, inputs: List[JsonDict]) -> List[JsonDict]:
        documents = [self._sentences_of(document) for document in inputs]
        jobs: List[Tuple[int, int, str, Instance]] = []  # (document, sentence, task, instance)
        for d, sentences in enumerate(documents):
            for s, tokens in enumerate(sentences):
                for task in self.tasks:
                    jobs.append((d, s, task, self._instance(task, tokens)))
        results = self._run_sorted([job[3] for job in jobs])

        outputs = [
            {**document, "entities": [], "sentences": [{"tags": {}} for _ in sentences]}
            for document, sentences in zip(inputs, documents)
        ]
        for (d, s, task, _), result in zip(jobs, results):
            tokens = documents[d][s]
            tags, probs = result["tags"], result["tag_probs"]
            outputs[d]["sentences"][s]["tags"][task] = tags
            for entity_type, first, last in tags_to_spans(tags, self._model.label_encoding):
                start, end = tokens[first].idx, tokens[last].idx_end
                outputs[d]["entities"].append(
                    {
                        "start": start,
                        "end": end,
                        "text": inputs[d]["text"][start:end],
                        "type": entity_type,
                        "task": task,
                        "score": round(sum(probs[first : last + 1]) / (last - first + 1), 4),
                    }
                )
        for d, sentences in enumerate(documents):
            for s, tokens in enumerate(sentences):
                outputs[d]["sentences"][s].update(
                    start=tokens[0].idx,
                    end=tokens[-1].idx_end,
                    tokens=[[t.text, t.idx, t.idx_end] for t in tokens],
                )
            outputs[d]["entities"].sort(key=lambda e: (e["start"], -e["end"], e["task"]))
        return sanitize(outputs)

    def _sentences_of(self, document: JsonDict) -> List[List[Token]]:
        text = document.get("text")
        if not isinstance(text, str):
            raise ValueError(f"Input needs a string 'text', got {str(document)[:80]!r}")
        return [tokens for tokens in self.tokenizer.tokenize_sentences(text) if tokens]

    def _instance(self, task: str, tokens: List[Token]) -> Instance:
        reader = self._readers[task]
        instance = reader.text_to_instance([t.text for t in tokens])
        reader.apply_token_indexers(instance)
        return instance

    def _run_sorted(self, instances: List[Instance]) -> List[Dict[str, Any]]:
        """Runs instances in length-sorted batches (less padding) and returns results in order."""
        order = sorted(range(len(instances)), key=lambda i: len(instances[i].fields["tokens"]))
        results: List[Optional[Dict[str, Any]]] = [None] * len(instances)
        for begin in range(0, len(order), self.max_sentences_per_batch):
            batch = order[begin : begin + self.max_sentences_per_batch]
            for i, output in zip(
                batch, self._model.forward_on_instances([instances[i] for i in batch])
            ):
                results[i] = output
        return results  # type: ignore[return-value]


def _to_conll(outputs: JsonDict) -> str:
    lines = []
    for sentence in outputs["sentences"]:
        tasks = list(sentence["tags"])
        for i, (token, start, end) in enumerate(sentence["tokens"]):
            tags = "\t".join(sentence["tags"][task][i] for task in tasks)
            lines.append(f"{token}\t{start}\t{end}\t{tags}")
        lines.append("")
    return "\n".join(lines) + "\n"


def _to_pubtator(outputs: JsonDict) -> str:
    doc_id = str(outputs.get("id", "0"))
    text = outputs["text"].replace("\n", " ").replace("|", " ")
    lines = [f"{doc_id}|t|{text}"]
    for e in outputs["entities"]:
        lines.append(f"{doc_id}\t{e['start']}\t{e['end']}\t{e['text']}\t{e['type']}\t{e['task']}")
    return "\n".join(lines) + "\n\n"
