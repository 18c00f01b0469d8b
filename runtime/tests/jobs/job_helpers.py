"""Helpers of the job tests, importable by their worker processes and Ray actors (whose sys.path
or PYTHONPATH holds this folder): input shards, the output's document ids, and a job with faults
to inject: a pause per batch (so that a test can kill the job mid-run) and a worker that kills
itself once, on the first document whose text starts with "KILL"."""

import gzip
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from hsl_bioner_runtime.jobs.spec import JobSpec
from hsl_bioner_runtime.stream import TagBatch

DOCUMENTS_PER_SHARD = 4


def jsonl_shard(shard: int) -> bytes:
    lines = [
        json.dumps({"id": f"s{shard}-d{i}", "text": f"Shard {shard} has Document {i} here."})
        for i in range(DOCUMENTS_PER_SHARD)
    ]
    return ("\n".join(lines) + "\n").encode()


def write_shards(folder: Path, count: int) -> Path:
    """`count` JSON-lines shards of `DOCUMENTS_PER_SHARD` documents; every third one gzipped."""
    folder.mkdir(parents=True, exist_ok=True)
    for shard in range(count):
        data = jsonl_shard(shard)
        if shard % 3 == 2:
            (folder / f"part-{shard:03d}.jsonl.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (folder / f"part-{shard:03d}.jsonl").write_bytes(data)
    return folder


def output_ids(output_dir: Path) -> list:
    """The ids of every output document of every output shard (JSON lines, maybe gzipped)."""
    ids = []
    for path in sorted(output_dir.iterdir()):
        if path.is_file():
            data = path.read_bytes()
            if path.name.endswith(".gz"):
                data = gzip.decompress(data)
            ids.extend(json.loads(line)["id"] for line in data.decode().splitlines())
    return ids


@dataclass(frozen=True)
class FaultyJob(JobSpec):
    """`JobSpec` whose tagger (the real one) can be made slow, or kill its worker.

    # Parameters

    pause : `float`
        Seconds to sleep per batch.
    kill_marker : `str`, optional
        A file: the first worker to meet a "KILL" document creates it and kills its own process
        (SIGKILL); workers that find it there tag on.
    """

    pause: float = 0.0
    kill_marker: Optional[str] = None

    def load_tagger(self, threads: Optional[int]) -> TagBatch:
        tag_documents = super().load_tagger(threads)

        def tag_batch(documents: Sequence[Dict]) -> List[Dict]:
            if self.pause:
                time.sleep(self.pause)
            for document in documents:
                if self.kill_marker and document["text"].startswith("KILL"):
                    try:
                        os.close(os.open(self.kill_marker, os.O_CREAT | os.O_EXCL))
                    except FileExistsError:
                        continue
                    os.kill(os.getpid(), signal.SIGKILL)
            return tag_documents(documents)

        return tag_batch
