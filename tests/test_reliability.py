"""Reliability, through the real CLI on the fixtures: a training run killed with SIGKILL resumes
from its last checkpoint; MTL-LS trains on two CPU worker processes, each on its own shard, with
metrics summed over both; training is deterministic; and bad configurations stop `allennlp train`
before the first epoch with a message that says what to change.

The runs that need to observe or interrupt training (resume, distributed) add a trainer callback
from a small probe package written for the test (see `PROBE`): it kills the process at a chosen
batch, or records which sentences each worker trained on. Every subprocess has a time limit and
is killed with its workers when it overruns.
"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader, Vocabulary

from hsl_bioner.data import mixed_task_loader
from hsl_bioner.data.iob_reader import read_iob_sentences
from hsl_bioner.data.mixed_task_loader import MixedTaskDataLoader
from tests.conftest import FIXTURE_CONFIGS, ROOT

STL = FIXTURE_CONFIGS / "stl.jsonnet"
MTL_XC = FIXTURE_CONFIGS / "mtl_xc.jsonnet"
MTL_LS = FIXTURE_CONFIGS / "mtl_ls.jsonnet"
TASKS = ["disease_a", "disease_b"]

PROBE = '''
"""Trainer callbacks for tests/test_reliability.py."""
import json
import os
import signal

import torch.distributed as dist
from allennlp.training.callbacks import TrainerCallback


@TrainerCallback.register("reliability_kill_switch")
class KillSwitch(TrainerCallback):
    """SIGKILLs its own process after training batch `batch` (1-based) of epoch `epoch`
    (0-based), once: `marker` records that it fired, so the resumed run, which must have the same
    configuration, trains on."""

    def __init__(self, serialization_dir, epoch, batch, marker):
        super().__init__(serialization_dir)
        self.epoch, self.batch, self.marker = epoch, batch, marker

    def on_batch(self, trainer, batch_inputs, batch_outputs, batch_metrics, epoch, batch_number,
                 is_training, is_primary=True, batch_grad_norm=None, **kwargs):
        if (is_training and (epoch, batch_number) == (self.epoch, self.batch)
                and not os.path.exists(self.marker)):
            with open(self.marker, "w") as marker:
                marker.write(f"{epoch} {batch_number}\\n")
                marker.flush()
                os.fsync(marker.fileno())
            os.kill(os.getpid(), signal.SIGKILL)


@TrainerCallback.register("reliability_shard_recorder")
class ShardRecorder(TrainerCallback):
    """Writes `sources_w<rank>.json` into the serialization dir at the end of training: for each
    epoch, the sources (path:line) of the training sentences this worker trained on."""

    def on_start(self, trainer, is_primary=True, **kwargs):
        self.rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        self.sources = {}

    def on_batch(self, trainer, batch_inputs, batch_outputs, batch_metrics, epoch, batch_number,
                 is_training, is_primary=True, batch_grad_norm=None, **kwargs):
        if is_training:
            for batch in batch_inputs:
                self.sources.setdefault(str(epoch), []).extend(
                    meta["source"] for meta in batch["metadata"]
                )

    def on_end(self, trainer, metrics=None, epoch=None, is_primary=True, **kwargs):
        path = os.path.join(self.serialization_dir, f"sources_w{self.rank}.json")
        with open(path, "w") as out:
            json.dump(self.sources, out)
'''


@pytest.fixture(scope="module")
def probe_env(tmp_path_factory) -> Dict[str, str]:
    """Environment in which `--include-package reliability_probe` finds the probe callbacks (the
    spawned distributed workers inherit it)."""
    folder = tmp_path_factory.mktemp("probe")
    (folder / "reliability_probe.py").write_text(PROBE)
    paths = [str(folder), str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def allennlp(
    args: List[str], env: Optional[Dict[str, str]] = None, timeout: float = 240
) -> subprocess.CompletedProcess:
    """Runs `python -m allennlp ARGS` from the project root and returns the finished process,
    whatever its exit code. On timeout its whole process group (distributed workers included) is
    killed and the test fails with the output so far."""
    command = [sys.executable, "-m", "allennlp", *args]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(
            f"allennlp {' '.join(args)} did not finish within {timeout} s (hung?)\n"
            f"--- stdout ---\n{stdout[-4000:]}\n--- stderr ---\n{stderr[-4000:]}"
        )
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def succeeded(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(result.args[2:])} exited with {result.returncode}\n--- stdout ---\n"
            f"{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


def config_callbacks(config: Path, env: Dict[str, str]) -> List[dict]:
    """The trainer callbacks the config itself sets: an override of `trainer.callbacks` replaces
    the list, so a probe callback is appended to these."""
    params = Params.from_file(str(config), ext_vars=env)
    return list(params.as_dict()["trainer"].get("callbacks", []))


def metrics_of(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def checkpoints(run: Path) -> List[str]:
    return sorted(path.name for path in run.glob("*_state_e*_b*.th"))


# --- 1. Resume after SIGKILL ------------------------------------------------------------------


def test_training_killed_mid_epoch_resumes_from_its_last_checkpoint(tmp_path, probe_env):
    run, marker = tmp_path / "run", tmp_path / "killed"
    overrides = {
        "trainer.num_epochs": 4,
        # 160 sentences in batches of 4: 40 batches an epoch, so batch 5 is well inside one.
        "data_loader.batch_size": 4,
        "trainer.callbacks": config_callbacks(MTL_XC, probe_env)
        + [{"type": "reliability_kill_switch", "epoch": 1, "batch": 5, "marker": str(marker)}],
    }
    args = ["train", str(MTL_XC), "-s", str(run), "-o", json.dumps(overrides)]
    args += ["--include-package", "reliability_probe"]

    killed = allennlp(args, env=probe_env)
    assert killed.returncode == -signal.SIGKILL, (
        f"the first run should have been killed at epoch 1, batch 5; it exited with "
        f"{killed.returncode}\n{killed.stderr[-4000:]}"
    )
    assert marker.read_text().split() == ["1", "5"]
    # Killed in the middle of the second epoch: only the first epoch's checkpoint exists.
    assert checkpoints(run) == ["model_state_e1_b0.th", "training_state_e1_b0.th"]
    assert (run / "metrics_epoch_0.json").is_file()
    for unfinished in ("metrics_epoch_1.json", "metrics.json", "model.tar.gz"):
        assert not (run / unfinished).exists(), unfinished
    first_epoch = run / "metrics_epoch_0.json"
    first_epoch_bytes, first_epoch_mtime = first_epoch.read_bytes(), first_epoch.stat().st_mtime_ns

    resumed = succeeded(allennlp(args + ["--recover"], env=probe_env))
    log = resumed.stdout + resumed.stderr
    assert f"Recovering from prior training at {run}" in log
    # Epoch 0 was restored from the checkpoint, not trained again: its metrics file is untouched,
    # and the resumed run trained epochs 1, 2 and 3 only.
    assert first_epoch.read_bytes() == first_epoch_bytes
    assert first_epoch.stat().st_mtime_ns == first_epoch_mtime
    assert log.count("Epoch duration") == 3, "the resumed run should train epochs 1-3 only"

    metrics = metrics_of(run)
    assert metrics["epoch"] == 3
    for epoch in range(4):
        assert json.loads((run / f"metrics_epoch_{epoch}.json").read_text())["epoch"] == epoch
    for task in TASKS:
        for split in ("training", "validation", "best_validation", "test"):
            for name in ("precision", "recall", "f1"):
                assert 0.0 <= metrics[f"{split}_{task}_{name}"] <= 1.0
    assert "test_loss" in metrics and "best_epoch" in metrics
    assert (run / "model.tar.gz").is_file()
    assert "training_state_e4_b0.th" in checkpoints(run)


# --- 2. Distributed training ------------------------------------------------------------------


def test_mtl_ls_trains_on_two_cpu_workers_each_on_its_own_shard(fixture_runs, tmp_path, probe_env):
    # A validation file with an odd number of sentences, read in batches of 2: the workers'
    # shards then give them different numbers of batches (10 and 9), which the loader evens out;
    # otherwise the trainer would drop a validation batch and the summed metrics would be off.
    devel = {task: f"fixtures/data/{task}/devel.tsv" for task in TASKS}
    odd = tmp_path / "disease_a_devel_13.tsv"
    sentences = (ROOT / devel["disease_a"]).read_text().strip("\n").split("\n\n")
    odd.write_text("\n\n".join(sentences[:13]) + "\n")
    devel["disease_a"] = str(odd)

    env = {
        **probe_env,
        "HSL_BIONER_MTL_XC_ARCHIVE": str(fixture_runs["mtl_xc"] / "model.tar.gz"),
        # Two single-threaded workers on two cores, not two workers fighting over them.
        "OMP_NUM_THREADS": "1",
    }
    run = tmp_path / "run"
    overrides = {
        # AllenNLP picks a free localhost port for the primary (primary_port unset). Tasks whose
        # groups are absent from a batch leave their upper layers and head without gradient,
        # hence find_unused_parameters.
        "distributed": {
            "cuda_devices": [-1, -1],
            "ddp_accelerator": {"type": "torch", "find_unused_parameters": True},
        },
        "trainer.num_epochs": 2,
        "validation_data_path": devel,
        "validation_data_loader.batch_size": 2,
        "trainer.callbacks": config_callbacks(MTL_LS, env)
        + [{"type": "reliability_shard_recorder"}],
    }
    args = ["train", str(MTL_LS), "-s", str(run), "-o", json.dumps(overrides)]
    succeeded(allennlp(args + ["--include-package", "reliability_probe"], env=env))

    # Each worker trained on its own half of every training file, and together on all of it.
    train_sources = {
        sentence.source
        for task in TASKS
        for sentence in read_iob_sentences(
            ROOT / f"fixtures/data/{task}/train.tsv",
            display_path=f"fixtures/data/{task}/train.tsv",
        )
    }
    workers = [json.loads((run / f"sources_w{rank}.json").read_text()) for rank in (0, 1)]
    for epoch in ("0", "1"):
        seen = [worker[epoch] for worker in workers]
        assert all(len(sources) == len(set(sources)) for sources in seen)
        assert not set(seen[0]) & set(seen[1]), "the workers' shards overlap"
        assert set(seen[0]) | set(seen[1]) == train_sources
        assert len(seen[0]) == len(seen[1]) == len(train_sources) // 2
    worker_logs = [(run / f"out_worker{rank}.log").read_text() for rank in (0, 1)]
    assert "Task disease_a: 7 instances from" in worker_logs[0]
    assert "Task disease_a: 6 instances from" in worker_logs[1]
    for worker_log in worker_logs:
        assert "finishing validation early" not in worker_log
        assert "finishing training early" not in worker_log

    # Metrics were summed over the workers: the validation scores of the best epoch are those
    # of the saved (best) model evaluated in one process on the whole validation files.
    metrics = metrics_of(run)
    assert metrics["epoch"] == 1
    evaluation = run / "devel_metrics.json"
    succeeded(
        allennlp(
            ["evaluate", str(run / "model.tar.gz"), json.dumps(devel)]
            + ["--output-file", str(evaluation)],
            env={"OMP_NUM_THREADS": "1"},
        )
    )
    single_process = json.loads(evaluation.read_text())
    for task in TASKS:
        for name in ("precision", "recall", "f1"):
            key = f"{task}_{name}"
            assert metrics[f"best_validation_{key}"] == pytest.approx(single_process[key], abs=1e-9)
            assert 0.0 <= metrics[f"test_{key}"] <= 1.0
    assert (run / "model.tar.gz").is_file()


class _FakeWorkers:
    """Stands in for a process group in the loader: this worker is `rank` of `world_size`, and
    the other workers' largest batch count is `others`."""

    def __init__(self, monkeypatch, rank: int, world_size: int, others: int = 0):
        dist = mixed_task_loader.dist
        monkeypatch.setattr(mixed_task_loader, "is_distributed", lambda: True)
        monkeypatch.setattr(mixed_task_loader, "distributed_device", lambda: torch.device("cpu"))
        monkeypatch.setattr(dist, "get_rank", lambda: rank)
        monkeypatch.setattr(dist, "get_world_size", lambda: world_size)
        monkeypatch.setattr(
            dist, "all_reduce", lambda tensor, op=None: tensor.fill_(max(int(tensor), others))
        )


def _fixture_loader(**kwargs) -> MixedTaskDataLoader:
    params = Params.from_file(str(MTL_XC))
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    paths = {task: f"fixtures/data/{task}/train.tsv" for task in TASKS}
    loader = MixedTaskDataLoader(reader, kwargs.pop("data_path", paths), **kwargs)
    loader.index_with(Vocabulary.from_instances(loader.iter_instances()))
    return loader


def test_a_worker_with_fewer_batches_splits_batches_to_match_the_others(monkeypatch):
    loader = _fixture_loader(batch_size=8)  # read before faking workers: 160 sentences
    _FakeWorkers(monkeypatch, rank=1, world_size=2, others=23)
    batches = list(loader)
    assert len(batches) == 23  # 20 batches of 8, three of them halved
    assert sum(len(batch["task"]) for batch in batches) == 160
    _FakeWorkers(monkeypatch, rank=1, world_size=2, others=200)  # more batches than sentences
    assert sum(len(batch["task"]) for batch in loader) == 160  # nothing lost or repeated


def test_an_epoch_of_a_sampler_is_shared_by_the_workers(monkeypatch):
    _FakeWorkers(monkeypatch, rank=0, world_size=2)
    loader = _fixture_loader(
        batch_size=10, sampler=mixed_task_loader.TemperatureSampler(), instances_per_epoch=100
    )
    assert len(loader) == 5
    assert sum(len(batch["task"]) for batch in loader) == 50


def test_a_training_loader_needs_data_for_every_task():
    paths = {"disease_a": "fixtures/data/disease_a/train.tsv"}
    with pytest.raises(ConfigurationError, match="add 'disease_b' to the data paths"):
        _fixture_loader(data_path=paths, require_all_tasks=True)
    assert {batch["task"][0] for batch in _fixture_loader(data_path=paths)} == {"disease_a"}


# --- 3. Determinism ---------------------------------------------------------------------------

TIMING = ("training_duration", "epoch_start", "epoch_end")


def _comparable(metrics: dict) -> dict:
    return {
        key: value
        for key, value in metrics.items()
        if not key.endswith("_memory_MB") and not any(part in key for part in TIMING)
    }


def test_same_seed_and_data_give_identical_metrics_and_weights(fixture_runs, tmp_path):
    # The session's MTL-XC run (same config, so same seeds and data) is the first of the two.
    first = fixture_runs["mtl_xc"]
    second = tmp_path / "mtl_xc_again"
    succeeded(allennlp(["train", str(MTL_XC), "-s", str(second)]))
    assert _comparable(metrics_of(second)) == _comparable(metrics_of(first))
    for name in ["best.th"] + [f"metrics_epoch_{epoch}.json" for epoch in range(3)]:
        if name.endswith(".json"):
            assert _comparable(json.loads((second / name).read_text())) == _comparable(
                json.loads((first / name).read_text())
            ), name
        else:
            weights = torch.load(second / name), torch.load(first / name)
            assert weights[0].keys() == weights[1].keys()
            for key in weights[0]:
                assert torch.equal(weights[0][key], weights[1][key]), key


# --- 4. Configuration errors stop training before the first epoch ------------------------------

# (case, config, overrides, needs the MTL-XC archive, error type, texts the message must contain)
BAD_CONFIGS = [
    (
        "task-without-train-path",
        MTL_XC,
        {"train_data_path": {"disease_a": "fixtures/data/disease_a/train.tsv"}},
        False,
        "ConfigurationError",
        [
            "No data path for task(s) disease_b",
            "add 'disease_b' to the data paths (train_data_path)",
        ],
    ),
    (
        "task-without-reader",
        MTL_LS,
        {"model.tasks": ["disease_a", "disease_b", "disease_c"]},
        True,
        "ConfigurationError",
        ["'disease_c_labels'", "needs a reader and training data", "group: disease_c)"],
    ),
    (
        "train-file-without-sentences",
        MTL_XC,
        {"train_data_path.disease_b": "{tmp}/empty.tsv"},
        False,
        # The reader's error (a ValueError): it names the file and the line.
        "IobFormatError",
        ["empty.tsv:1: the file has no sentences (it is empty)"],
    ),
    (
        "more-shared-layers-than-the-encoder-has",
        STL,
        {"model.embedder.shared_layers": 9},
        False,
        "ConfigurationError",
        ["shared_layers must lie in [0, 4] for this 4-layer encoder, got 9"],
    ),
    (
        "slicing-rate-not-a-whole-number-of-layers",
        MTL_LS,
        {"model.embedder.slicing_rate": 0.3},
        True,
        "ConfigurationError",
        ["slicing_rate 0.3 x 4 layers = 1.2 is not a whole number", "0, 0.25, 0.5, 0.75, 1"],
    ),
    (
        "mtl-xc-archive-of-another-encoder",
        MTL_LS,
        {"model.initializer.regexes.0.1.encoder": "fixtures/tiny_bert"},
        True,
        "ConfigurationError",
        [
            "was trained with encoder 'fixtures/tiny_xlnet', but this model uses "
            "'fixtures/tiny_bert'",
            "Train the MTL-XC model with the same encoder",
        ],
    ),
    (
        # A text file as the MTL-XC archive gave "UnpicklingError: unpickling stack underflow".
        "mtl-xc-archive-that-is-not-an-archive",
        MTL_LS,
        {"model.initializer.regexes.0.1.archive_file": "fixtures/data/disease_a/train.tsv"},
        False,
        "ConfigurationError",
        [
            "Cannot read model archive fixtures/data/disease_a/train.tsv: not a tar archive, and "
            "not a torch weights file",
            "Give the model.tar.gz that `allennlp train` wrote",
        ],
    ),
]


@pytest.mark.parametrize(
    "config, overrides, needs_archive, error, texts",
    [pytest.param(*case[1:], id=case[0]) for case in BAD_CONFIGS],
)
def test_a_bad_configuration_fails_before_the_first_epoch(
    request, tmp_path, config, overrides, needs_archive, error, texts
):
    (tmp_path / "empty.tsv").write_text("")
    overrides = json.loads(json.dumps(overrides).replace("{tmp}", str(tmp_path)))
    env = {}
    if needs_archive:
        archive = request.getfixturevalue("fixture_runs")["mtl_xc"] / "model.tar.gz"
        env["HSL_BIONER_MTL_XC_ARCHIVE"] = str(archive)
    run = tmp_path / "run"
    result = allennlp(["train", str(config), "-s", str(run), "-o", json.dumps(overrides)], env=env)
    assert result.returncode != 0, "training should have refused this configuration"
    last_line = result.stderr.strip().splitlines()[-1]
    assert f"{error}: " in last_line, result.stderr[-4000:]
    for text in texts:
        assert text in last_line, f"{text!r} not in the error:\n{last_line}"
    assert "Beginning training." not in result.stdout
    assert not list(run.glob("metrics_epoch_*.json")) and not checkpoints(run)
