"""`Tagger`: an exported folder (docs/export_format.md) tagging raw text with ONNX Runtime.

The records are the AllenNLP `bioner` predictor's for the same documents, built by the same code
(`hsl_bioner_runtime.tagging`); only the sentence tagger differs. Per batch of sentences:

    words ──PieceEncoder──▶ PieceBatch (segments of at most max_length pieces as rows)
          ──shared.onnx (once)──▶ hidden states [rows, length, d]
          ──group.<g>.onnx (once per selected group, whatever its number of tasks)──▶ emissions
          ──read at each word's first piece (word_index)──▶ [sentences, words, tags]
          ──crf.decode──▶ tags and marginals, per task of the group

Needs numpy, onnxruntime and tokenizers only.
"""

from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy
import onnxruntime
from tokenizers import Tokenizer

from hsl_bioner_runtime.crf import Tagging, decode
from hsl_bioner_runtime.entities import MERGE_RULES, Record
from hsl_bioner_runtime.folder import TAGGER_CONFIG, ExportedModel, ExportFolderError, load_folder
from hsl_bioner_runtime.pieces import PieceBatch, PieceEncoder
from hsl_bioner_runtime.tagging import select_tasks, tag_documents
from hsl_bioner_runtime.text import TextTokenizer

# The calling convention of the graphs (docs/export_format.md).
SHARED_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
GROUP_INPUTS = ("hidden", "attention_mask", "token_type_ids")


class Tagger:
    """Tags documents with the task heads of an exported folder. Build it with `Tagger.load`.

    # Parameters

    model : `ExportedModel`
        The folder, as `hsl_bioner_runtime.folder.load_folder` read it.
    tasks : `Sequence[str]`, optional (default = every task of the folder)
        The task heads to run: a non-empty list of the folder's task names, each once.
    threads : `int`, optional (default = ONNX Runtime's choice: one per physical core)
        Threads of each graph's operators (``intra_op_num_threads``; graphs and their nodes run
        one at a time, ``inter_op_num_threads`` 1).
    batch_size : `int`, optional (default = `32`)
        Sentences are sorted by length and tagged in batches of at most this many (at least 1):
        it bounds memory whatever the input.
    merge : `str`, optional (default = `"type"`)
        How the entities of several heads combine: "type", "exact" or "none"; see
        `hsl_bioner_runtime.entities.merge_entities`.

    Bad arguments raise `ValueError` naming them; a folder that cannot be used raises
    `ExportFolderError` naming the file.
    """

    def __init__(
        self,
        model: ExportedModel,
        tasks: Optional[Sequence[str]] = None,
        threads: Optional[int] = None,
        batch_size: int = 32,
        merge: str = "type",
    ) -> None:
        self.model = model
        self.tasks: Tuple[str, ...] = tuple(select_tasks(tasks, model.tasks, "folder"))
        _check_whole("batch_size", batch_size)
        if threads is not None:
            _check_whole("threads", threads)
        if merge not in MERGE_RULES:
            raise ValueError(f"merge must be one of {', '.join(MERGE_RULES)}, got {merge!r}.")
        self.threads = threads
        self.batch_size = batch_size
        self.merge = merge
        self.uses_type_ids = bool(model.encoder.get("uses_type_ids", True))
        try:
            self.text_tokenizer = TextTokenizer(**model.text_settings)
        except (TypeError, ValueError) as error:
            raise ExportFolderError(
                f"{model.path / TAGGER_CONFIG}: text settings: {error}"
            ) from None
        try:
            tokenizer = Tokenizer.from_file(str(model.tokenizer))
        except Exception as error:  # the Rust tokenizer raises plain Exceptions
            raise ExportFolderError(
                f"{model.tokenizer}: not a tokenizers file ({error})."
            ) from None
        try:
            self.pieces = PieceEncoder(tokenizer, model.special_tokens, model.max_length)
        except ValueError as error:
            raise ExportFolderError(f"{model.path / TAGGER_CONFIG}: {error}") from None
        # Only the groups of the selected tasks are loaded: a head not asked for costs nothing.
        self.groups: Tuple[str, ...] = tuple(
            dict.fromkeys(model.group_of_task[t] for t in self.tasks)
        )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self._shared = _session(model.shared_graph, options, SHARED_INPUTS, "hidden")
        self._group_sessions = {
            group: _session(model.group_graphs[group], options, GROUP_INPUTS, "emissions")
            for group in self.groups
        }

    @classmethod
    def load(
        cls,
        folder: Union[str, Path],
        tasks: Optional[Sequence[str]] = None,
        threads: Optional[int] = None,
        batch_size: int = 32,
        merge: str = "type",
        verify: bool = True,
    ) -> "Tagger":
        """The tagger of the exported folder `folder` (with `verify`, every file is checked
        against its SHA-256 in manifest.json first); the other arguments as the class says."""
        return cls(load_folder(folder, verify=verify), tasks, threads, batch_size, merge)

    def tag(self, texts: Iterable[str]) -> List[Record]:
        """One record per text (`hsl_bioner_runtime.entities.document_record`), in order."""
        if isinstance(texts, str):
            raise TypeError("tag takes a list of texts, not one string: tag([text]).")
        documents = []
        for number, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"Text {number} is a {type(text).__name__}, not a string.")
            documents.append({"text": text})
        return self.tag_documents(documents)

    def tag_documents(self, documents: Sequence[Mapping[str, Any]]) -> List[Record]:
        """One record per document: ``{"text": ..., "id": ..., "passages": [...]}`` (only
        ``text`` is required; every key is passed through), in order; see
        `hsl_bioner_runtime.tagging.tag_documents`."""
        return tag_documents(
            documents,
            self.tag_sentences,
            self.tasks,
            self.text_tokenizer,
            self.model.label_encoding,
            self.merge,
            self.batch_size,
        )

    def tag_sentences(
        self, sentences: List[List[str]], tasks: Sequence[str]
    ) -> Dict[str, List[Tagging]]:
        """The `SentenceTagger` of the folder: one batch of sentences (lists of words) through
        the shared graph once and each group of `tasks` once; per task, one `Tagging` per
        sentence. `tasks` must be among the tagger's `tasks` (their groups are loaded)."""
        unloaded = [task for task in tasks if task not in self.tasks]
        if unloaded:
            raise ValueError(
                f"Task(s) {', '.join(unloaded)} not loaded; this tagger runs "
                f"{', '.join(self.tasks)}."
            )
        groups = list(dict.fromkeys(self.model.group_of_task[task] for task in tasks))
        scores, lengths = self.word_scores(sentences, groups)
        decoded = {
            group: decode(scores[group], lengths, self.model.crfs[group]) for group in groups
        }
        return {task: decoded[self.model.group_of_task[task]] for task in tasks}

    def word_scores(
        self, sentences: List[List[str]], groups: Sequence[str]
    ) -> Tuple[Dict[str, numpy.ndarray], numpy.ndarray]:
        """The emission scores of each word (read at its first piece) for each of `groups`,
        ``[sentences, words, tags]`` float32, and the number of words of each sentence: the
        shared graph runs once, each group's graph once on every row."""
        batch = self.pieces.batch(self.pieces.encode_batch(sentences))
        mask = batch.mask.astype(numpy.int64)
        type_ids = batch.type_ids if self.uses_type_ids else numpy.zeros_like(batch.type_ids)
        (hidden,) = self._shared.run(
            ["hidden"],
            {"input_ids": batch.token_ids, "attention_mask": mask, "token_type_ids": type_ids},
        )
        scores = {}
        for group in groups:
            (emissions,) = self._group_sessions[group].run(
                ["emissions"],
                {"hidden": hidden, "attention_mask": mask, "token_type_ids": type_ids},
            )
            scores[group] = self._at_first_pieces(group, emissions, batch)
        return scores, batch.word_mask.sum(axis=1)

    def _at_first_pieces(
        self, group: str, emissions: numpy.ndarray, batch: PieceBatch
    ) -> numpy.ndarray:
        num_tags = self.model.crfs[group].num_tags
        if emissions.ndim != 3 or emissions.shape[2] != num_tags:
            raise ExportFolderError(
                f"{self.model.group_graphs[group]}: emissions of shape {emissions.shape}, but "
                f"group {group!r} has {num_tags} tags in {TAGGER_CONFIG}."
            )
        return emissions.reshape(-1, num_tags)[batch.word_index]

    def describe(self) -> Dict[str, Any]:
        """What the tagger runs, as JSON: tasks (group and entity types of each; `selected`, the
        ones it runs), groups and their tags, the encoder, precision, label encoding, text
        settings, and the folder's origin (manifest: created, source archive, versions)."""
        config, manifest = self.model.config, self.model.manifest
        return {
            "folder": str(self.model.path),
            "tasks": {
                task: {"group": group, "types": list(self.model.types_of_task[task])}
                for task, group in self.model.group_of_task.items()
            },
            "selected": list(self.tasks),
            "groups": {group: {"tags": list(crf.tags)} for group, crf in self.model.crfs.items()},
            "encoder": dict(self.model.encoder),
            "precision": self.model.precision,
            "int8": config.get("int8"),
            "label_encoding": self.model.label_encoding,
            "text": dict(self.model.text_settings),
            "created": manifest.get("created"),
            "source_archive": manifest.get("source_archive"),
            "versions": manifest.get("versions", {}),
            "threads": self.threads,
            "batch_size": self.batch_size,
            "merge": self.merge,
        }


def _session(
    path: Path, options: onnxruntime.SessionOptions, inputs: Sequence[str], output: str
) -> onnxruntime.InferenceSession:
    try:
        session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # onnxruntime's own exception types are not public API
        raise ExportFolderError(f"{path}: ONNX Runtime cannot load it ({error}).") from None
    found_inputs = {i.name for i in session.get_inputs()}
    found_outputs = {o.name for o in session.get_outputs()}
    missing = [name for name in inputs if name not in found_inputs]
    if missing or output not in found_outputs:
        raise ExportFolderError(
            f"{path}: inputs {sorted(found_inputs)} and outputs {sorted(found_outputs)}; "
            f"format 1 needs inputs {', '.join(inputs)} and output {output}."
        )
    return session


def _check_whole(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}.")
