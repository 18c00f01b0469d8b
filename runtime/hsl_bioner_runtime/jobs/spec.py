"""What a job is: the model, the output folder and every setting that decides the output shards.

A `JobSpec` travels to every worker (a process of the local pool, a Ray actor), which loads the
tagger from it once (`load_tagger`) and tags shard after shard with it. Its `settings` are what
an output shard depends on (the model's checksum, output and input format, tasks, merge rule,
annotations kept); a rerun takes an earlier output shard as done only when they are the same. The
batch size is not among them: it changes how fast, not what.
"""

import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from hsl_bioner_runtime.jobs.shards import sha256_of
from hsl_bioner_runtime.stream import TagBatch

MODEL_MANIFEST = "manifest.json"


class JobError(ValueError):
    """A job that cannot start (no model folder, a bad output folder); the message says why."""


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
    model_sha256: str = ""

    @classmethod
    def create(cls, folder: str, output_dir: str, **settings: Any) -> "JobSpec":
        """The job with the model's checksum read from `folder`; raises `JobError` when the
        folder has no manifest.json."""
        manifest = os.path.join(folder, MODEL_MANIFEST)
        if not os.path.isfile(manifest):
            raise JobError(
                f"{manifest}: no such file; FOLDER must be an exported model folder "
                "(`allennlp bioner-export ARCHIVE FOLDER`)."
            )
        if settings.get("tasks") is not None:
            settings["tasks"] = tuple(settings["tasks"])
        return cls(folder, output_dir, model_sha256=sha256_of(manifest), **settings)

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

        tagger = Tagger.load(self.folder, tasks=self.tasks, threads=threads, merge=self.merge)
        return tagger.tag_documents
