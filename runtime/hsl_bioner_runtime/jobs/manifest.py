"""The manifest of a job's output folder: one entry per output shard, and the job's summary.

    OUT/
      part-0001.jsonl ...          the output shards
      manifest/shards/<output>.json  per output shard: input path and SHA-256, documents,
                                   sentences, entities, output SHA-256 and size, the job's
                                   settings (model SHA-256 among them), seconds taken
      manifest/job.json            the last run: settings, every shard's entry, failures, totals

A worker writes a shard's entry right after renaming its output shard into place, so an entry
never describes an output that is not there. A rerun takes a shard as done when its entry
exists, names the same input checksum and settings, and its output shard exists with the size
the entry says (a killed run leaves an output without its entry at worst: that shard is tagged
again, and its output replaced whole). Checking sizes rather than output checksums keeps a
rerun's check cheap; the checksums are there to verify with ``sha256sum``.
"""

import datetime
import json
import os
from typing import Any, Dict, List, Optional, Sequence

from hsl_bioner_runtime.jobs.shards import Shard, write_json_atomic

MANIFEST_DIR = "manifest"
SHARDS_DIR = "shards"
JOB_MANIFEST = "job.json"
FORMAT = "hsl-bioner-job"
FORMAT_VERSION = 1
# A shard result's "status".
DONE, SKIPPED, FAILED = "done", "skipped", "failed"


def entry_path(output_dir: str, shard: Shard) -> str:
    return os.path.join(output_dir, MANIFEST_DIR, SHARDS_DIR, shard.output + ".json")


def read_entry(output_dir: str, shard: Shard) -> Optional[Dict[str, Any]]:
    """The shard's entry, or None when there is none (or it is unreadable: then the shard is
    simply tagged again)."""
    try:
        with open(entry_path(output_dir, shard), encoding="utf-8") as stream:
            entry = json.load(stream)
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) else None


def is_done(
    entry: Optional[Dict[str, Any]],
    output_dir: str,
    shard: Shard,
    input_sha256: str,
    settings: Dict[str, Any],
) -> bool:
    """Whether `entry` says the shard was tagged from this very input with these settings and
    its output shard is still there, whole."""
    if entry is None:
        return False
    output = os.path.join(output_dir, shard.output)
    return (
        entry.get("input_sha256") == input_sha256
        and entry.get("settings") == settings
        and os.path.isfile(output)
        and os.path.getsize(output) == entry.get("output_bytes")
    )


def write_entry(output_dir: str, shard: Shard, entry: Dict[str, Any]) -> None:
    write_json_atomic(entry_path(output_dir, shard), entry)


def write_job_manifest(
    output_dir: str,
    settings: Dict[str, Any],
    results: Sequence[Dict[str, Any]],
    started: datetime.datetime,
    runner: Dict[str, Any],
) -> Dict[str, Any]:
    """Writes ``manifest/job.json`` from every shard's result of this run (in shard order) and
    returns it. Its totals count the documents of every shard done, in this run or before."""
    finished = now()
    completed = [result for result in results if result["status"] in (DONE, SKIPPED)]
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "seconds": round((finished - started).total_seconds(), 3),
        "runner": runner,
        "settings": settings,
        "totals": {
            "shards": len(results),
            "done": sum(result["status"] == DONE for result in results),
            "skipped": sum(result["status"] == SKIPPED for result in results),
            "failed": sum(result["status"] == FAILED for result in results),
            **{
                key: sum(result[key] for result in completed)
                for key in ("documents", "sentences", "entities")
            },
        },
        "shards": list(results),
    }
    write_json_atomic(os.path.join(output_dir, MANIFEST_DIR, JOB_MANIFEST), manifest)
    return manifest


def failed(shard: Shard, error: str) -> Dict[str, Any]:
    """The result of a shard that failed: its names, status "failed" and the error."""
    return {"input": shard.input, "output": shard.output, "status": FAILED, "error": error}


def failures(results: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [result for result in results if result["status"] == FAILED]


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)
