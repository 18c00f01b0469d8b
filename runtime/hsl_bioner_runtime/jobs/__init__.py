"""Sharded, resumable tagging jobs: `bioner-tag FOLDER 'shards/*.jsonl' --output-dir OUT`.

- `shards`: finding input shards, naming output shards, gzip, atomic writes;
- `spec`: `JobSpec`, the model and the settings an output depends on;
- `manifest`: the per-shard entries and the job manifest, and what a rerun skips;
- `worker`: tagging one shard (shared by every engine);
- `local`: in this process, or on a pool of `--workers` processes;
- `ray_job`: on Ray Data (`--ray [ADDRESS]`);
- `run`: the job from start to end, and its command-line flags.
"""

from hsl_bioner_runtime.jobs.run import (
    add_job_arguments,
    check_job_arguments,
    run_job,
    run_job_from_args,
)
from hsl_bioner_runtime.jobs.spec import JobSpec

__all__ = ["JobSpec", "add_job_arguments", "check_job_arguments", "run_job", "run_job_from_args"]
