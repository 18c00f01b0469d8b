"""Running a job on this machine: in the job's own process, or on a pool of worker processes.

The pool (`run_on_pool`) has N processes, started with "spawn" (no fork of a process that holds
ONNX Runtime's threads), each with one ONNX session on one thread, loaded once per process on its
first shard. At most N shards are in flight, so when a worker dies (killed, out of memory) the
shards it may have held are known: the pool is then broken (`BrokenProcessPool`), every shard in
flight that did not finish goes back to the front of the queue, and a new pool takes over. A
shard in flight during `MAX_ATTEMPTS` deaths fails with a message instead of killing workers for
ever. A shard redone replaces its output whole (`shards.atomic_output`), so every document is
tagged into the output exactly once.
"""

import multiprocessing
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Deque, Dict, Iterator, Optional, Sequence, Tuple

from hsl_bioner_runtime.jobs import manifest
from hsl_bioner_runtime.jobs.shards import Shard
from hsl_bioner_runtime.jobs.spec import JobSpec
from hsl_bioner_runtime.jobs.worker import tag_shard
from hsl_bioner_runtime.stream import TagBatch

MAX_ATTEMPTS = 3

# The tagger of a pool process: loaded on its first shard, kept for the next ones.
_LOADED: Optional[Tuple[JobSpec, TagBatch]] = None


def run_in_process(
    job: JobSpec, shards: Sequence[Shard], threads: Optional[int]
) -> Iterator[Dict[str, Any]]:
    """Tags `shards` one after the other in this process, with one tagger on `threads`
    threads; yields each shard's result."""
    tag_batch = job.load_tagger(threads)
    for shard in shards:
        yield tag_shard(job, tag_batch, shard)


def run_on_pool(job: JobSpec, shards: Sequence[Shard], workers: int) -> Iterator[Dict[str, Any]]:
    """Tags `shards` on `workers` processes of one thread each; yields each shard's result as
    it finishes (see the module docstring for dead workers)."""
    workers = min(workers, len(shards))  # no process without a shard to tag
    queue: Deque[Shard] = deque(shards)
    deaths: Counter = Counter()
    context = multiprocessing.get_context("spawn")
    while queue:
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            running: Dict[Future, Shard] = {}
            lost = []
            while queue or running:
                while queue and len(running) < workers and not lost:
                    shard = queue.popleft()
                    running[pool.submit(_tag_in_worker, job, shard)] = shard
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    shard = running.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        lost.append(shard)
                    except Exception as error:  # the tagger failed, not the input
                        yield manifest.failed(shard, f"{type(error).__name__}: {error}")
            for shard in reversed(lost):
                deaths[shard] += 1
                if deaths[shard] < MAX_ATTEMPTS:
                    queue.appendleft(shard)
                else:
                    yield manifest.failed(
                        shard,
                        f"a worker process died while tagging it, {MAX_ATTEMPTS} times (killed, "
                        "or out of memory?); no output shard written",
                    )


def _tag_in_worker(job: JobSpec, shard: Shard) -> Dict[str, Any]:
    global _LOADED
    if _LOADED is None or _LOADED[0] != job:
        _LOADED = (job, job.load_tagger(threads=1))
    return tag_shard(job, _LOADED[1], shard)
