"""A sharded job from start to end: find the shards, skip those already done, tag the others
(in this process, on a local pool, or on Ray), write the job's manifest, sum it up.

`add_job_arguments` adds the job's flags to `bioner-tag`; `run_job_from_args` runs the job those
flags describe and returns the exit status (non-zero when any shard failed, each failure named in
the summary with its shard and line).
"""

import argparse
import os
import sys
from typing import Any, Callable, Dict, List, Optional

from hsl_bioner_runtime.command_line import PROGRAM, whole_number
from hsl_bioner_runtime.folder import ExportFolderError, sha256_of
from hsl_bioner_runtime.jobs import manifest
from hsl_bioner_runtime.jobs.local import run_in_process, run_on_pool
from hsl_bioner_runtime.jobs.shards import (
    ShardError,
    find_shards,
    remove_temporary_files,
)
from hsl_bioner_runtime.jobs.spec import JobError, JobSpec

Log = Callable[[str], None]


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of a sharded job (`bioner-tag FOLDER 'shards/*.jsonl' --output-dir OUT`)."""
    group = parser.add_argument_group(
        "sharded jobs",
        "INPUT is a folder, a glob (quoted) or a file of input shards (gzip when named .gz); "
        "each is tagged into one output shard in --output-dir, atomically, with a manifest; a "
        "rerun skips the shards already done.",
    )
    group.add_argument("--output-dir", help="tag the shards of INPUT into this folder")
    group.add_argument(
        "--workers",
        type=whole_number(1, "at least 1"),
        help="worker processes (with --ray: Ray actors) of one thread each; default: one per "
        "core (with --ray: per CPU of the cluster), or, with --threads, this process alone",
    )
    group.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run the job on Ray Data: on the cluster at ADDRESS ('auto': the one `ray start` "
        "runs on this machine), or, without ADDRESS, on $RAY_ADDRESS or a new local instance",
    )


def check_job_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors of the job's flags (exits through `parser.error`)."""
    if args.output_dir is None:
        if args.workers is not None or args.ray is not None:
            parser.error("--workers and --ray run a sharded job: give --output-dir too")
        return
    if getattr(args, "threads", None) is not None and (args.workers or args.ray is not None):
        parser.error("--threads is for a job in this process; each worker has one thread")
    if getattr(args, "output_file", None):
        parser.error("--output-file and --output-dir exclude each other")
    if getattr(args, "input_file", None) == "-":
        parser.error("a sharded job (--output-dir) reads shards from files, not stdin")


def run_job(
    job: JobSpec,
    pattern: str,
    workers: Optional[int] = None,
    ray_address: Optional[str] = None,
    threads: Optional[int] = None,
    log: Optional[Log] = None,
) -> Dict[str, Any]:
    """Tags the shards of `pattern` as `job` says: on Ray when `ray_address` is not None (""
    for $RAY_ADDRESS or a local instance), else on `workers` processes, else in this process
    on `threads` threads; returns the job's manifest (`manifest.write_job_manifest`). `log`
    gets a line per shard. Raises `ShardError` or `JobError` when the job cannot start."""
    log = log or (lambda line: None)
    shards = find_shards(pattern, job.output_dir, job.output_format)
    entries = os.path.join(job.output_dir, manifest.MANIFEST_DIR, manifest.SHARDS_DIR)
    os.makedirs(entries, exist_ok=True)
    for folder in (job.output_dir, os.path.dirname(entries), entries):
        remove_temporary_files(folder)
    started = manifest.now()
    settings = job.settings()
    results: Dict[str, Dict[str, Any]] = {}
    todo = []
    for shard in shards:
        entry = manifest.read_entry(job.output_dir, shard)
        if manifest.is_done(entry, job.output_dir, shard, sha256_of(shard.input), settings):
            results[shard.output] = {**entry, "status": manifest.SKIPPED}
        else:
            todo.append(shard)
    log(f"{len(shards)} shards: {len(shards) - len(todo)} already done, {len(todo)} to tag")
    if ray_address is not None:
        from hsl_bioner_runtime.jobs.ray_job import run_on_ray

        runner = {"engine": "ray", "address": ray_address or None, "workers": workers}
        tagged = run_on_ray(job, todo, ray_address or None, workers) if todo else iter(())
    elif workers is not None:
        runner = {"engine": "processes", "workers": workers, "threads": 1}
        tagged = run_on_pool(job, todo, workers) if todo else iter(())
    else:
        runner = {"engine": "process", "workers": 1, "threads": threads}
        tagged = run_in_process(job, todo, threads) if todo else iter(())
    for number, result in enumerate(tagged, start=1):
        results[result["output"]] = result
        log(f"[{number}/{len(todo)}] {_shard_line(result)}")
    # A worker killed while writing leaves its temporary file; every worker has stopped here.
    for folder in (job.output_dir, os.path.dirname(entries), entries):
        remove_temporary_files(folder)
    return manifest.write_job_manifest(
        job.output_dir, settings, [results[shard.output] for shard in shards], started, runner
    )


def run_job_from_args(folder: str, args: argparse.Namespace) -> int:
    """Runs the job of `args` (`add_job_arguments` and the tagging flags of `bioner-tag`) with
    the model `folder`; prints a line per shard (unless ``--no-progress``) and a summary to
    stderr; returns the exit status: 0 when every shard is done, 1 when any failed."""
    log = None if args.no_progress else _print
    try:
        job = JobSpec.create(
            folder,
            args.output_dir,
            output_format=args.format,
            input_format=args.input_format,
            tasks=args.tasks,
            merge=args.merge,
            keep_annotations=args.keep_annotations,
            batch_size=args.batch_size,
            sentences_per_batch=args.sentences_per_batch,
        )
        threads = getattr(args, "threads", None)
        workers = args.workers
        if workers is None and threads is None and args.ray is None:
            workers = default_workers()
        result = run_job(job, args.input_file, workers, args.ray, threads, log)
    except (ShardError, JobError, ExportFolderError) as error:
        _print(f"{PROGRAM}: {error}")
        return 2
    _print(summary(result))
    return 1 if result["totals"]["failed"] else 0


def default_workers() -> int:
    """One worker per core this process may run on: processes of one ONNX thread each tag
    abstract-length sentences faster than one process with a thread per core, whose threads wait
    on each other between small operations (benchmarks/README.md, "Large jobs")."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def summary(job_manifest: Dict[str, Any]) -> str:
    """What a run did, in a few lines: shards done, skipped and failed (each failure's error,
    which names the shard and line), documents and entities, where the manifest is."""
    totals = job_manifest["totals"]
    lines: List[str] = [
        f"{PROGRAM}: {totals['done'] + totals['skipped']} of {totals['shards']} shards done "
        f"({totals['done']} in this run, {totals['skipped']} before), {totals['failed']} failed; "
        f"{totals['documents']} documents, {totals['entities']} entities; "
        f"{job_manifest['seconds']:.1f} s"
    ]
    lines.extend(
        f"  failed: {result['error']}" for result in manifest.failures(job_manifest["shards"])
    )
    if totals["failed"]:
        lines.append("  fix or remove the failed shards and run the same command again")
    return "\n".join(lines)


def _shard_line(result: Dict[str, Any]) -> str:
    if result["status"] == manifest.FAILED:
        return f"FAILED {result['error']}"
    rate = result["documents"] / result["seconds"] if result["seconds"] else 0.0
    return (
        f"{result['input']} -> {result['output']}: {result['documents']} documents, "
        f"{result['entities']} entities, {result['seconds']:.1f} s ({rate:.0f} documents/s)"
    )


def _print(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
