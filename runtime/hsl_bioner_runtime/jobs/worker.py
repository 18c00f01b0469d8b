"""Tagging one shard: what every worker (the job's own process, a process of the local pool, a
Ray actor) does with each shard it is given.

`tag_shard` never raises for a bad shard: an input that cannot be read (bad UTF-8, a bad JSON
line, broken PubTator or BioC, a damaged gzip stream) or tagged becomes a "failed" result whose
error names the shard and the line, its partial output is removed, and the worker goes on with
the next shard.
"""

import os
import time
import zlib
from typing import Any, Dict, List, Sequence

from hsl_bioner_runtime.folder import sha256_of
from hsl_bioner_runtime.formats.writers import document_writer
from hsl_bioner_runtime.jobs import manifest
from hsl_bioner_runtime.jobs.shards import Shard, atomic_output, open_shard
from hsl_bioner_runtime.jobs.spec import JobSpec
from hsl_bioner_runtime.stream import InputLineError, TagBatch, detect_format, tag_stream

# Errors that fail one shard, not the job: bad input (`InputLineError` names the line; a damaged
# gzip stream is an EOFError, zlib.error or OSError) or a failure to write its output.
_BAD_INPUT = (InputLineError, EOFError, zlib.error, OSError, ValueError)


def tag_shard(job: JobSpec, tag_batch: TagBatch, shard: Shard) -> Dict[str, Any]:
    """Tags `shard` into its output shard and writes its manifest entry (both atomically);
    returns its result: the entry with ``status`` "done", or ``status`` "failed" and ``error``."""
    started = time.perf_counter()
    counts = {"sentences": 0, "entities": 0}

    def counted(documents: Sequence[Dict]) -> List[Dict]:
        records = tag_batch(documents)
        for record in records:
            counts["sentences"] += len(record.get("sentences", ()))
            counts["entities"] += len(record.get("entities", ()))
        return records

    output = os.path.join(job.output_dir, shard.output)
    try:
        input_sha256 = sha256_of(shard.input)
        with open_shard(shard.input) as source:
            input_format = job.input_format
            if input_format == "auto":
                input_format = detect_format(source)
            with atomic_output(output, shard.gzipped) as sink:
                documents = tag_stream(
                    counted,
                    source,
                    sink,
                    job.batch_size,
                    shard.input,
                    input_format=input_format,
                    writer=document_writer(job.output_format),
                    keep_annotations=job.keep_annotations,
                )
    except _BAD_INPUT as error:
        # A shard's partial output is discarded, so the count of records written before the bad
        # line, which single-file tagging reports, would mislead here: leave it out.
        message = error.located if isinstance(error, InputLineError) else str(error)
        where = "" if message.startswith(shard.input) else f"{shard.input}: "
        return manifest.failed(shard, f"{where}{message}; no output shard written")
    entry = {
        "input": shard.input,
        "output": shard.output,
        "input_format": input_format,
        "input_sha256": input_sha256,
        "output_sha256": sha256_of(output),
        "output_bytes": os.path.getsize(output),
        "documents": documents,
        **counts,
        "settings": job.settings(),
        "seconds": round(time.perf_counter() - started, 3),
        "worker": {"host": os.uname().nodename, "pid": os.getpid()},
    }
    manifest.write_entry(job.output_dir, shard, entry)
    return {**entry, "status": manifest.DONE}
