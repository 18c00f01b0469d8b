"""What a job is: the model, the output folder and every setting that decides the output shards.

A `JobSpec` travels to every worker (a process of the local pool, a Ray actor), which loads the
tagger from it once (`load_tagger`) and tags shard after shard with it. Its `settings` are what
an output shard depends on (the model's checksum, output and input format, tasks, merge rule,
annotations kept); a rerun takes an earlier output shard as done only when they are the same. The
batch sizes are not among them: they change how fast, not what.
"""

import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from hsl_bioner_runtime.folder import MANIFEST, load_folder, sha256_of
from hsl_bioner_runtime.stream import TagBatch


class JobError(ValueError):
    """A job that cannot start (e.g. --ray without Ray installed); the message says why."""


@dataclass(frozen=True)
class JobSpec:
    """A tagging job.

    # Parameters

    folder : `str`
        The exported model folder (`allennlp bioner-export`).
    output_dir : `str`
        Where the output shards and the manifest (``manifest/``) go; created if absent.
    output_format : `str`
        One of `formats.writers.OUTPUT_FORMATS`.
    input_format : `str`
        One of `formats.documents.INPUT_FORMATS`, or "auto": detected per shard.
    tasks : `Tuple[str, ...]`, optional
        The task heads to run (default: all).
    merge : `str`
        How the entities of several heads combine (`entities.MERGE_RULES`).
    keep_annotations : `bool`
        Carry the input's annotations into JSON and BioC output.
    batch_size : `int`
        Documents per call of the tagger.
    sentences_per_batch : `int`
        Sentences per encoder batch (`Tagger.load`'s ``batch_size``).
    model_sha256 : `str`
        The SHA-256 of the folder's manifest.json (which holds the SHA-256 of every other file):
        the model's identity in the job's manifest. `JobSpec.create` fills it in.
    """

    folder: str
    output_dir: str
    output_format: str = "json"
    input_format: str = "auto"
    tasks: Optional[Tuple[str, ...]] = None
    merge: str = "type"
    keep_annotations: bool = False
    batch_size: int = 32
    sentences_per_batch: int = 32
    model_sha256: str = ""

    @classmethod
    def create(cls, folder: str, output_dir: str, **settings: Any) -> "JobSpec":
        """The job with the model's checksum read from `folder`, checked here once (every file
        against manifest.json), so that a bad folder stops the job before any worker starts:
        raises `ExportFolderError` naming the file."""
        load_folder(folder)
        if settings.get("tasks") is not None:
            settings["tasks"] = tuple(settings["tasks"])
        model_sha256 = sha256_of(os.path.join(folder, MANIFEST))
        return cls(folder, output_dir, model_sha256=model_sha256, **settings)

    def settings(self) -> Dict[str, Any]:
        """What the output shards depend on (compared on a rerun), as JSON values."""
        return {
            "model_sha256": self.model_sha256,
            "output_format": self.output_format,
            "input_format": self.input_format,
            "tasks": list(self.tasks) if self.tasks is not None else None,
            "merge": self.merge,
            "keep_annotations": self.keep_annotations,
        }

    def load_tagger(self, threads: Optional[int]) -> TagBatch:
        """The function that tags a batch of documents: the ONNX tagger of `folder`, on
        `threads` threads (None: ONNX Runtime's default, every core)."""
        from hsl_bioner_runtime.tagger import Tagger

        tagger = Tagger.load(
            self.folder,
            tasks=self.tasks,
            threads=threads,
            batch_size=self.sentences_per_batch,
            merge=self.merge,
        )
        return tagger.tag_documents
