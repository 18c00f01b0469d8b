"""The job on Ray Data, on one local Ray instance (2 CPUs, no dashboard) for the whole module."""

import json
import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from job_helpers import DOCUMENTS_PER_SHARD, output_ids, write_shards  # noqa: E402

import hsl_bioner_runtime  # noqa: E402
from hsl_bioner_runtime.jobs import run_job  # noqa: E402

HERE = Path(__file__).parent


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    # The actors import this code (not another installed copy) and the stand-in job.
    runtime_root = str(Path(hsl_bioner_runtime.__file__).parent.parent)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(HERE), runtime_root])}},
    )
    yield
    ray.shutdown()


def test_ray_writes_the_local_runs_shards_byte_for_byte_even_when_an_actor_dies(make_job, tmp_path):
    # One Ray run for both checks: starting a dataset's actors costs seconds.
    inputs = write_shards(tmp_path / "in", 4)
    lines = [json.dumps({"id": "s1-d0", "text": "KILL the actor"})] + [
        json.dumps({"id": f"s1-d{i}", "text": f"Document {i}"})
        for i in range(1, DOCUMENTS_PER_SHARD)
    ]
    (inputs / "part-001.jsonl").write_text("\n".join(lines) + "\n")
    local = run_job(make_job("local", batch_size=3), str(inputs))
    marker = tmp_path / "killed"
    on_ray = run_job(
        make_job("ray", batch_size=3, kill_marker=str(marker)), str(inputs), 2, ray_address=""
    )
    assert marker.exists()  # the actor tagging part-001 did die
    assert on_ray["runner"]["engine"] == "ray" and on_ray["totals"]["done"] == 4
    assert on_ray["totals"]["documents"] == 4 * DOCUMENTS_PER_SHARD
    assert sorted(output_ids(tmp_path / "ray")) == sorted(output_ids(tmp_path / "local"))
    for entry in local["shards"]:
        name = entry["output"]
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    hashes = [[s["output_sha256"] for s in job["shards"]] for job in (local, on_ray)]
    assert hashes[0] == hashes[1]
