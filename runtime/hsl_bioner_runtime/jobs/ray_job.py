"""Running a job on Ray Data (the optional extra: ``pip install "hsl-bioner-runtime[ray]"``).

The shards are a dataset of one row per shard, in one block each; `map_batches` sends them, one
at a time, to an actor pool of `ShardTagger`s, each of which loads the tagger once (one thread:
an actor per CPU) and tags its shards with the same `worker.tag_shard` as the local run, so the
output shards are byte for byte the local run's. The driver only collects the results.

Faults are Ray's to handle: an actor that dies is restarted (Ray Data's default for actor pools,
``max_restarts=-1``), and the shard it held is given to an actor again, up to `MAX_TASK_RETRIES`
times; past that, the shard fails (``max_errored_blocks`` lets the other shards finish) and the
driver reports it, as it reports shards with bad input.

Every node must see the model folder, the input shards and the output folder at the same paths
(a shared file system), and have hsl-bioner-runtime installed.
"""

import json
from typing import Any, Dict, Iterator, List, Optional, Sequence

from hsl_bioner_runtime.jobs import manifest
from hsl_bioner_runtime.jobs.shards import Shard
from hsl_bioner_runtime.jobs.spec import JobError, JobSpec
from hsl_bioner_runtime.jobs.worker import tag_shard

MAX_TASK_RETRIES = 3


class ShardTagger:
    """A Ray Data actor: the tagger of `job`, loaded once, tags each shard it is given.

    # Parameters

    job : `JobSpec`
        The job.
    """

    def __init__(self, job: JobSpec) -> None:
        self.job = job
        self.tag_batch = job.load_tagger(threads=1)

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, List[str]]:
        results = [
            tag_shard(self.job, self.tag_batch, Shard(str(source), str(target)))
            for source, target in zip(batch["input"], batch["output"])
        ]
        # One JSON string per shard: the result's nested values need no Arrow schema.
        return {"result": [json.dumps(result) for result in results]}


def run_on_ray(
    job: JobSpec, shards: Sequence[Shard], address: Optional[str], workers: Optional[int]
) -> Iterator[Dict[str, Any]]:
    """Tags `shards` on the Ray cluster at `address` ("auto": the one `ray start` runs here;
    None: the one this process is connected to, else a new local instance) with `workers`
    actors (default: one per CPU of the cluster); yields each shard's result."""
    try:
        import ray
    except ImportError:
        raise JobError(
            '--ray needs Ray Data: pip install "hsl-bioner-runtime[ray]" (or "./runtime[ray]")'
        ) from None
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, log_to_driver=False)
    try:
        context = ray.data.DataContext.get_current()
        context.max_errored_blocks = -1  # a shard that fails for good must not stop the others
        context.enable_progress_bars = False
        concurrency = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        rows = [{"input": shard.input, "output": shard.output} for shard in shards]
        results = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            ShardTagger,
            fn_constructor_kwargs={"job": job},
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            num_cpus=1,
            max_task_retries=MAX_TASK_RETRIES,
        )
        seen = set()
        try:
            for row in results.iter_rows():
                result = json.loads(row["result"])
                seen.add(result["output"])
                yield result
        except ray.exceptions.RayError as error:
            # E.g. no actor could start (the model folder missing on a node): the shards done
            # so far have their entries; a rerun goes on from there.
            raise JobError(f"the job stopped on Ray ({len(seen)} shards done): {error}") from None
        for shard in shards:
            if shard.output not in seen:
                yield manifest.failed(
                    shard,
                    f"the Ray task tagging it failed {MAX_TASK_RETRIES + 1} times (an actor died, "
                    "or out of memory?); no output shard written",
                )
    finally:
        if started_here:
            ray.shutdown()
