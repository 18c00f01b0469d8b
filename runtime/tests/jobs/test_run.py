import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from job_helpers import DOCUMENTS_PER_SHARD, FaultyJob, output_ids, write_shards

from hsl_bioner_runtime.jobs.run import run_job, summary

HERE = Path(__file__).parent


def every_id(shards: int) -> list:
    return sorted(f"s{s}-d{i}" for s in range(shards) for i in range(DOCUMENTS_PER_SHARD))


def check_manifest(output_dir: Path, shards: int) -> dict:
    """The job manifest, after checking that every output shard is whole (its checksum is its
    entry's) and every input document is in the output exactly once."""
    job = json.loads((output_dir / "manifest" / "job.json").read_text())
    assert job["totals"]["failed"] == 0
    assert job["totals"]["documents"] == shards * DOCUMENTS_PER_SHARD
    for entry in job["shards"]:
        output = (output_dir / entry["output"]).read_bytes()
        assert hashlib.sha256(output).hexdigest() == entry["output_sha256"]
        assert (
            hashlib.sha256(Path(entry["input"]).read_bytes()).hexdigest() == entry["input_sha256"]
        )
    assert sorted(output_ids(output_dir)) == every_id(shards)
    return job


def test_a_job_tags_every_shard_and_a_rerun_skips_what_is_done(make_job, tmp_path):
    inputs = write_shards(tmp_path / "in", 4)
    job = make_job(batch_size=3)
    result = run_job(job, str(inputs))
    assert result["totals"]["done"] == 4 and result["runner"]["engine"] == "process"
    check_manifest(Path(job.output_dir), 4)
    entry = result["shards"][0]
    records = [json.loads(line) for line in (Path(job.output_dir) / "part-000.jsonl").open()]
    assert entry["documents"] == len(records) == DOCUMENTS_PER_SHARD
    assert entry["sentences"] == sum(len(r["sentences"]) for r in records) == DOCUMENTS_PER_SHARD
    assert entry["entities"] == sum(len(r["entities"]) for r in records)
    assert entry["settings"]["model_sha256"] == job.model_sha256
    gzipped = Path(job.output_dir) / "part-002.jsonl.gz"
    assert gzip.decompress(gzipped.read_bytes()).count(b"\n") == DOCUMENTS_PER_SHARD

    again = run_job(job, str(inputs))
    assert again["totals"] == {**result["totals"], "done": 0, "skipped": 4}
    # A changed input, a lost output and another merge rule: those shards are tagged again.
    (inputs / "part-000.jsonl").write_bytes((inputs / "part-000.jsonl").read_bytes() + b"\n")
    (Path(job.output_dir) / "part-001.jsonl").unlink()
    statuses = [s["status"] for s in run_job(job, str(inputs))["shards"]]
    assert statuses == ["done", "done", "skipped", "skipped"]
    other = FaultyJob.create(job.folder, job.output_dir, merge="none")
    assert run_job(other, str(inputs))["totals"]["done"] == 4


def test_corrupt_shards_fail_with_shard_and_line_and_the_others_finish(make_job, tmp_path):
    inputs = write_shards(tmp_path / "in", 2)
    (inputs / "bad-utf8.jsonl").write_bytes(b'{"text": "fine"}\n{"text": "caf\xe9"}\n')
    (inputs / "bad-json.jsonl").write_bytes(b'{"text": "fine"}\n{"text": "fine"}\n{"text": \n')
    (inputs / "bad.pubtator").write_bytes(b"1|t|Title\n1|a|Abstract\n1\tnonsense\n")
    (inputs / "bad-gzip.jsonl.gz").write_bytes(gzip.compress(b'{"text": "fine"}\n' * 50)[:40])
    job = make_job()
    result = run_job(job, str(inputs))
    errors = {s["input"]: s.get("error") for s in result["shards"]}
    assert result["totals"]["done"] == 2 and result["totals"]["failed"] == 4
    assert errors[str(inputs / "bad-utf8.jsonl")].startswith(
        f"{inputs}/bad-utf8.jsonl:2: not UTF-8"
    )
    assert errors[str(inputs / "bad-json.jsonl")].startswith(
        f"{inputs}/bad-json.jsonl:3: Invalid JSON"
    )
    assert errors[str(inputs / "bad.pubtator")].startswith(f"{inputs}/bad.pubtator:3: neither")
    assert errors[str(inputs / "bad-gzip.jsonl.gz")].startswith(f"{inputs}/bad-gzip.jsonl.gz: ")
    assert sorted(os.listdir(job.output_dir)) == ["manifest", "part-000.jsonl", "part-001.jsonl"]
    text = summary(result)
    assert "2 of 6 shards done" in text and "bad-utf8.jsonl:2: not UTF-8" in text


def test_the_pool_redoes_the_shard_of_a_killed_worker(make_job, tmp_path):
    inputs = write_shards(tmp_path / "in", 5)
    (inputs / "part-003.jsonl").write_text(
        '{"id": "s3-d0", "text": "KILL me"}\n'
        + "".join(
            json.dumps({"id": f"s3-d{i}", "text": f"Document {i}"}) + "\n"
            for i in range(1, DOCUMENTS_PER_SHARD)
        )
    )
    job = make_job(kill_marker=str(tmp_path / "killed"), batch_size=1)
    result = run_job(job, str(inputs), workers=2)
    assert (tmp_path / "killed").exists()  # a worker did die
    assert result["totals"]["done"] == 5 and result["runner"]["engine"] == "processes"
    # The killed worker (and the pool's other worker, stopped with it) left no temporary file.
    assert not list(Path(job.output_dir).glob(".bioner-tmp-*"))
    check_manifest(Path(job.output_dir), 5)


def test_a_job_killed_mid_run_and_started_again_tags_every_document_once(model, tmp_path):
    inputs = write_shards(tmp_path / "in", 6)
    output_dir = tmp_path / "out"
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from job_helpers import FaultyJob; from hsl_bioner_runtime.jobs import run_job;"
        "job = FaultyJob.create(sys.argv[2], sys.argv[3], batch_size=1, pause=float(sys.argv[5]));"
        "run_job(job, sys.argv[4], workers=2)"
    )
    command = [sys.executable, "-c", script, str(HERE), model, str(output_dir), str(inputs)]
    process = subprocess.Popen(command + ["0.3"], start_new_session=True)
    entries = output_dir / "manifest" / "shards"
    deadline = time.monotonic() + 60
    while not (entries.is_dir() and any(entries.glob("*.json"))):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the job and its workers, mid-run
    process.wait()
    done_before = len(list(entries.glob("*.json")))
    assert 1 <= done_before < 6 and not (output_dir / "manifest" / "job.json").exists()

    subprocess.run(command + ["0"], check=True, timeout=120)
    job = check_manifest(output_dir, 6)
    assert job["totals"]["skipped"] == done_before
    assert not list(output_dir.glob(".bioner-tmp-*"))


def test_the_command_line_runs_a_job_and_names_each_failed_shard(model, tmp_path):
    inputs = write_shards(tmp_path / "in", 3)
    (inputs / "part-009.jsonl").write_bytes(b'{"text": "fine"}\n{"text": "caf\xe9"}\n')
    command = [sys.executable, "-m", "hsl_bioner_runtime.cli", model, str(inputs / "*.jsonl*")]
    command += ["--output-dir", str(tmp_path / "out"), "--threads", "1"]  # in this process
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1, first.stderr
    assert "3 of 4 shards done (3 in this run, 0 before), 1 failed" in first.stderr
    assert f"failed: {inputs}/part-009.jsonl:2: not UTF-8" in first.stderr
    assert "no output shard written" in first.stderr
    assert "written)" not in first.stderr  # no count of records kept: the partial shard is gone
    assert "Traceback" not in first.stderr
    (inputs / "part-009.jsonl").write_bytes(b'{"id": "s9-d0", "text": "fine"}\n')
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "4 of 4 shards done (1 in this run, 3 before), 0 failed" in second.stderr
    assert sorted(output_ids(tmp_path / "out")) == sorted(every_id(3) + ["s9-d0"])
    usage = subprocess.run(command[:5] + ["--workers", "2"], capture_output=True, text=True)
    assert usage.returncode == 2 and "give --output-dir too" in usage.stderr
