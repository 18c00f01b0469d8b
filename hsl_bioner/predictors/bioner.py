"""Raw text in, entities with character offsets out."""

from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import JsonDict, sanitize
from allennlp.data import Batch, DatasetReader
from allennlp.data.dataset_readers import MultiTaskDatasetReader
from allennlp.models import Model
from allennlp.nn.util import move_to_device
from allennlp.predictors.predictor import Predictor

from hsl_bioner.models.hierarchical_shared_tagger import HierarchicalSharedTagger
from hsl_bioner.modules.quantization import quantize_split_transformer
from hsl_bioner_runtime.crf import Tagging
from hsl_bioner_runtime.entities import MERGE_RULES
from hsl_bioner_runtime.formats.lines import load_line
from hsl_bioner_runtime.formats.writers import OUTPUT_FORMATS, RECORD_FORMATS, document_writer
from hsl_bioner_runtime.tagging import SentenceTagger, select_tasks, tag_documents
from hsl_bioner_runtime.text import TextTokenizer

if TYPE_CHECKING:
    from hsl_bioner_runtime.tagger import Tagger

BACKENDS = ("torch", "onnx")
"""What tags the sentences: the torch model, or its exported ONNX graphs."""


@Predictor.register("bioner")
class BioNerPredictor(Predictor):
    """Tags documents of raw text and returns their entities with exact character offsets.

    Input, one document per line: raw text, or JSON ``{"text": ..., "id": ...}`` (other keys are
    passed through; ``passages``, as `hsl_bioner_runtime.formats.documents` has them, split the
    text: `allennlp bioner-tag` reads PubTator and BioC files into such documents). Each passage
    is split into sentences and tokens the way the training corpora were
    (`hsl_bioner_runtime.text.TextTokenizer`) and tagged by every selected task head; each
    entity is reported with ``start``/``end`` offsets into the document (``text[start:end]`` is
    the mention), its ``type``, the ``task`` whose head found it and a ``score``: the mean CRF
    marginal probability of its tags. Entities, records and output formats are the runtime core's
    (`hsl_bioner_runtime.entities`, `hsl_bioner_runtime.formats.writers`).

    All selected heads tag a batch in one pass of the shared lower layers (each head adds only its
    own upper layers and CRF); their entities are combined by the `merge` rule.

    Registered as a `Predictor` with name "bioner". Options go in ``--predictor-args``.

    # Parameters

    model : `Model`
        A `bioner_tagger` (`HierarchicalSharedTagger`).
    dataset_reader : `DatasetReader`
        The archive's reader (`multitask`, one IOB reader per task).
    tasks : `Sequence[str]`, optional (default = all tasks of the model)
        Which task heads to run: a non-empty list of the model's task names, each once.
    output_format : `str`, optional (default = `"json"`)
        "json" (one JSON object per document), "conll" (``# newdoc id = <id>``, then per token:
        text, start, end and one tag column per task; a blank line after each sentence) or
        "pubtator" (``id|t|title``, ``id|a|abstract``, then one line per entity: id, start, end,
        mention, type, task); the rules are in `hsl_bioner_runtime.formats.writers`. A document
        without an ``id`` is named by its number among the records this predictor has dumped
        (1, 2, ...). These are the formats of `dump_line`, which `allennlp predict` writes one
        record per input with; BioC output is one collection per file, which
        `allennlp bioner-tag --format bioc-xml|bioc-json` writes.
    max_sentences_per_batch : `int`, optional (default = `32`)
        Sentences are sorted by length and tagged in batches of at most this many (at least 1).
    merge : `str`, optional (default = `"type"`)
        How the entities of several heads are combined: "type", "exact" or "none"; see
        `hsl_bioner_runtime.entities.merge_entities`.
    int8 : `bool`, optional (default = `False`)
        Quantise the encoder layers' Linear modules to int8 at load time (dynamic quantisation,
        per-channel weights; CPU only): faster prediction at a small, measured accuracy cost (see
        benchmarks/README.md). Embeddings, projections and CRFs stay fp32.
    int8_fp32_layers : `Sequence[int]`, optional (default = first two and last layer)
        Encoder layers kept in fp32 when `int8` is on (negative indices count from the top); each
        must exist in the encoder, and giving them without `int8` is an error.
    frozen : `bool`, optional (default = `True`)
        Put the model in evaluation mode.
    backend : `str`, optional (default = `"torch"`)
        What tags a batch of sentences: "torch" (the model) or "onnx" (its exported ONNX graphs
        run by `hsl_bioner_runtime.Tagger`, on the CPU, with as many threads as torch uses; the
        records are built by the same code). With "onnx", `int8` means an int8 export.
    export_dir : `str`, optional (default = `None`)
        With backend "onnx": the `allennlp bioner-export` folder of this model (with `int8`, its
        int8 export). Without it the model is exported on first use into a cache
        (`hsl_bioner.predictors.onnx_backend`: ``$HSL_BIONER_CACHE``, default
        ``~/.cache/hsl_bioner``), keyed by the model's SHA-256.

    Every argument is checked here: a wrong type or value is a `ConfigurationError` naming it
    (``"int8": "false"``, a string, is not taken for a boolean).
    """

    def __init__(
        self,
        model: Model,
        dataset_reader: DatasetReader,
        tasks: Optional[Sequence[str]] = None,
        output_format: str = "json",
        max_sentences_per_batch: int = 32,
        merge: str = "type",
        int8: bool = False,
        int8_fp32_layers: Optional[Sequence[int]] = None,
        frozen: bool = True,
        backend: str = "torch",
        export_dir: Optional[str] = None,
    ) -> None:
        _check_flag("frozen", frozen)
        _check_flag("int8", int8)
        super().__init__(model, dataset_reader, frozen)
        _check_choice("backend", backend, BACKENDS)
        if export_dir is not None:
            if backend != "onnx":
                raise ConfigurationError("export_dir only applies with backend: onnx.")
            if not isinstance(export_dir, str):
                raise ConfigurationError(f"export_dir must be a folder path, got {export_dir!r}.")
        if output_format in OUTPUT_FORMATS and output_format not in RECORD_FORMATS:
            raise ConfigurationError(
                f"output_format {output_format!r}: BioC output is one collection per file, not a "
                "record per input line: use `allennlp bioner-tag --format ...`."
            )
        _check_choice("output_format", output_format, RECORD_FORMATS)
        _check_choice("merge", merge, MERGE_RULES)
        if (
            not isinstance(max_sentences_per_batch, int)
            or isinstance(max_sentences_per_batch, bool)
            or max_sentences_per_batch < 1
        ):
            raise ConfigurationError(
                "max_sentences_per_batch must be a whole number of at least 1, "
                f"got {max_sentences_per_batch!r}."
            )
        if not isinstance(model, HierarchicalSharedTagger):
            raise ConfigurationError(
                "The bioner predictor needs a bioner_tagger (HierarchicalSharedTagger), "
                f"not {type(model).__name__}."
            )
        try:
            self.tasks = select_tasks(tasks, list(model.tasks))
        except ValueError as error:
            raise ConfigurationError(str(error)) from None
        if int8_fp32_layers is not None:
            if backend == "onnx":
                raise ConfigurationError(
                    "int8_fp32_layers applies to the torch backend; an int8 export keeps the "
                    "layers in fp32 that `allennlp bioner-export --int8` chose."
                )
            if not int8:
                raise ConfigurationError(
                    "int8_fp32_layers only applies with int8: true (it names the encoder layers "
                    "that int8 quantisation leaves in fp32)."
                )
            check_int8_fp32_layers(int8_fp32_layers, model.embedder.split.num_layers)
        # The readers of one model index text alike (same encoder); any of them builds instances.
        if isinstance(dataset_reader, MultiTaskDatasetReader):
            self._reader = dataset_reader.readers[self.tasks[0]]
        else:
            self._reader = dataset_reader
        self.output_format = output_format
        self._writer = document_writer(output_format)
        self.max_sentences_per_batch = max_sentences_per_batch
        self.merge = merge
        self.tokenizer = TextTokenizer()
        self._dumped = 0  # records written by `dump_line`: the default id of the next one - 1
        if (int8 or backend == "onnx") and self.cuda_device >= 0:
            raise ConfigurationError(
                f"{'int8' if int8 else 'ONNX'} prediction runs on the CPU; leave cuda_device at -1."
            )
        self.backend = backend
        self._tag_batch: SentenceTagger = self._tag_sentences
        if backend == "onnx":
            self._tag_batch = _onnx_tagger(
                model, dataset_reader, export_dir, int8, self.tasks, max_sentences_per_batch, merge
            ).tag_sentences
        elif int8:
            quantize_split_transformer(model.embedder.split, int8_fp32_layers)

    def load_line(self, line: str) -> JsonDict:
        """One document from one input line (`hsl_bioner_runtime.formats.lines.load_line`): JSON
        ``{"text": ..., "id": ...}`` when the line starts with ``{``, raw text otherwise, without
        its line end (``\\n`` or ``\\r\\n``; any other ``\\r`` is text). A bad JSON line raises
        `ValueError` quoting it."""
        if line.endswith("\n"):
            line = line[:-2] if line.endswith("\r\n") else line[:-1]
        return load_line(line)

    def dump_line(self, outputs: JsonDict) -> str:
        self._dumped += 1
        return self._writer.document(outputs, default_id=self._dumped)

    def predict(self, text: str) -> JsonDict:
        """Entities of one document of raw text."""
        return self.predict_json({"text": text})

    def predict_json(self, inputs: JsonDict) -> JsonDict:
        return self.predict_batch_json([inputs])[0]

    def predict_batch_json(self, inputs: List[JsonDict]) -> List[JsonDict]:
        # Only the passed-through input keys can hold non-JSON values (numpy scalars from a Python
        # caller): everything the record adds is built from str, int and float already, and
        # walking it with `sanitize` cost as much as the CRF decoding.
        return tag_documents(
            [sanitize(document) for document in inputs],
            self._tag_batch,
            self.tasks,
            self.tokenizer,
            self._model.label_encoding,
            self.merge,
            self.max_sentences_per_batch,
        )

    def _tag_sentences(
        self, sentences: List[List[str]], tasks: Sequence[str]
    ) -> Dict[str, List[Tagging]]:
        """The `SentenceTagger` of the torch backend: one batch through the model."""
        instances = []
        for words in sentences:
            instance = self._reader.text_to_instance(words)
            self._reader.apply_token_indexers(instance)
            instance.index_fields(self._model.vocab)
            instances.append(instance)
        tensors = move_to_device(Batch(instances).as_tensor_dict(), self.cuda_device)
        with torch.no_grad():
            return self._model.tag(tensors["tokens"], tasks)


def _onnx_tagger(
    model: HierarchicalSharedTagger,
    reader: DatasetReader,
    export_dir: Optional[str],
    int8: bool,
    tasks: Sequence[str],
    batch_size: int,
    merge: str,
) -> "Tagger":
    """The runtime's tagger of `export_dir`, or of the model's cached export."""
    # Imported here: onnxruntime and the exporter load only for backend onnx.
    from hsl_bioner.predictors.onnx_backend import cached_model_export, load_tagger

    folder = Path(export_dir) if export_dir else cached_model_export(model, reader, int8)
    tagger = load_tagger(folder, int8, tasks, batch_size, merge)
    if tagger.model.label_encoding != model.label_encoding:
        raise ConfigurationError(
            f"backend onnx: {folder} codes tags in {tagger.model.label_encoding}, the model in "
            f"{model.label_encoding}: export_dir is another model's export."
        )
    return tagger


def _check_flag(name: str, value: object) -> None:
    # "false" in a JSON config is a string, and a non-empty string is true in Python.
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be true or false, got {value!r}.")


def _check_choice(name: str, value: object, choices: Sequence[str]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {value!r}.")


def check_int8_fp32_layers(layers: object, num_layers: int) -> None:
    """`int8_fp32_layers` must be whole layer indices of the encoder (negative from the top)."""
    if isinstance(layers, str) or not isinstance(layers, Sequence):
        raise ConfigurationError(
            f"int8_fp32_layers must be a list of layer indices, got {layers!r}."
        )
    for index in layers:
        if isinstance(index, bool) or not isinstance(index, int):
            raise ConfigurationError(
                f"int8_fp32_layers must hold whole layer indices, got {index!r} "
                f"in {list(layers)!r}."
            )
        if not -num_layers <= index < num_layers:
            raise ConfigurationError(
                f"int8_fp32_layers: layer {index} does not exist; this encoder has {num_layers} "
                f"layers (0 to {num_layers - 1}, or -1 to -{num_layers} from the top)."
            )
