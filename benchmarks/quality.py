"""Quality: the paper's Table 2 on CPU (any category, pre-trained MiniLM), against a peer.

For the data sets ``--datasets`` of the category ``--category`` (default: the disease category's
NCBI-disease and BC5CDR-disease; for another category every data set of it, built-in or of
``HSL_BIONER_CORPORA``), one command trains and tests, each run through the real ``allennlp`` CLI
in a subprocess and in its own serialization directory under ``--work``:

- the PEER: allennlp-models' ``crf_tagger`` (``pretrained_transformer_mismatched`` embedder on
  the same encoder), STL on each data set (``benchmarks/quality/peer_crf_tagger.jsonnet``);
- STL on each data set (``training_config/stl.jsonnet``);
- MTL-XC on the data sets (``training_config/mtl_xc.jsonnet``, ``HSL_BIONER_DATASETS``);
- MTL-LS at each ``--rates`` (default 0.5 and 1.0, the rates of the paper's grid that give a whole
  number of MiniLM's 6 layers), initialised from that MTL-XC run
  (``training_config/mtl_ls.jsonnet``); the rate per data set picked on its development F1, as the
  paper did ("MTL-LS (dev-selected)");
- the paper's schedule as options: the first MTL-LS run continued for ``--continue-epochs`` more
  epochs from its archive (a ``bioner_from_archive`` initializer on every parameter, added with
  ``-o``: a new run whose optimizer state starts afresh), and for each of our runs the mean
  weights of its last ``--average-last`` checkpoints (``allennlp bioner-average``).

With ``--analyze``, the test predictions of every regime also go through ``allennlp
bioner-analyze`` (the paper's five ratios, with T = the training sentences the run trained on:
those of the data set for the peer and STL, of all the run's data sets for MTL), written to
``--output-dir``/analysis (one JSON, radar chart and Euler diagrams per regime) and tabled in
``results.md``. Every data set's folder must be there before anything runs: an absent one stops
the benchmark with the ``--datasets`` of the present ones.

The budget: ``--epochs`` epochs on the first ``--train-sentences`` sentences of each training file
(the same cap applies to each development file: NCBI-disease's has 923 sentences, BC5CDR-disease's
4581), batch size ``--batch-size``, learning rate ``--lr`` for the (top) encoder layer and
``--head-lr`` for the projection and CRF, and at most ``--run-timeout`` minutes per subprocess.
Test scores are always on the WHOLE test files (``allennlp evaluate`` after training).

Parallel: with one torch thread per process (``OMP_NUM_THREADS=1``), two processes that train
disjoint sets of runs (``--only``) in the same ``--work`` use two cores better than one process
with two threads; ``--report-only`` then writes the report.

Resumable: a run whose ``metrics.json`` exists is not trained again, a test score already written
is not computed again, and an interrupted run continues from its last epoch (``allennlp train -r``).
A work directory remembers its budget and refuses another one (use another ``--work``).

Writes ``results.md``, ``results.json`` and ``dev_f1.png`` (dev F1 per epoch of every run) into
``--output-dir`` (default ``benchmarks/quality`` for the disease category, else
``benchmarks/quality/<category>``; the work folder likewise); ``--compare OTHER/results.json``
adds a reproducibility check against a previous run. From the project root, in the background:

    nohup .venv/bin/python benchmarks/quality.py > /dev/null 2>&1 &
    tail -f benchmarks/quality/work/quality.log

The species category of the shared copy (LINNAEUS is not in it), with the analysis:

    nohup .venv/bin/python benchmarks/quality.py --epochs 4 --train-sentences 1500 \
        --category species --analyze \
        --datasets BioNLP11ID-species BioNLP13CG-species CRAFT-species > /dev/null 2>&1 &
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from fractions import Fraction
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "quality"
PEER_CONFIG = "benchmarks/quality/peer_crf_tagger.jsonnet"
DEFAULT_CATEGORY = "disease"
# The data sets of a category when --datasets is not given (the disease runs recorded so far);
# other categories: all of their data sets.
DEFAULT_DATASETS = {"disease": ["NCBI-disease", "BC5CDR-disease"]}
PEER = "peer crf_tagger (STL)"
STL = "STL"
XC = "MTL-XC"
LS_SELECTED = "MTL-LS (dev-selected)"
PEER_PACKAGE = "allennlp_models.tagging"  # not all of allennlp_models: that tries nltk downloads

_child: Optional[subprocess.Popen] = None


# --------------------------------------------------------------------------------------------
# Running the CLI


class Log:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, message: str) -> None:
        line = f"[{datetime.datetime.now():%H:%M:%S}] {message}"
        print(line, flush=True)
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(line + "\n")


def _stop_child(signum, frame) -> None:
    # The child runs in its own process group (so that a time cap can stop it and its data
    # workers); stop it with us.
    if _child is not None and _child.poll() is None:
        os.killpg(_child.pid, signal.SIGTERM)
        try:
            _child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(_child.pid, signal.SIGKILL)
    sys.exit(128 + signum)


def run_cli(args: List[str], env: Dict[str, str], log_file: Path, timeout_s: float) -> str:
    """Runs `python -m allennlp ARGS` from the project root; returns "ok", "failed" or "timeout"."""
    global _child
    command = [sys.executable, "-m", "allennlp", *args]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "a", encoding="utf-8") as out:
        out.write(f"\n$ {shlex.join(command)}\n")
        out.flush()
        _child = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = _child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(_child.pid, signal.SIGTERM)
            try:
                _child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(_child.pid, signal.SIGKILL)
                _child.wait()
            return "timeout"
        finally:
            _child = None
    return "ok" if code == 0 else "failed"


# --------------------------------------------------------------------------------------------
# The plan


class Run:
    """One `allennlp train` run and what is computed from it."""

    def __init__(
        self,
        name: str,
        regime: str,
        config: str,
        tasks: List[str],
        env: Dict[str, str],
        overrides: Dict[str, Any],
        peer: bool = False,
        after: Optional["Run"] = None,
        epoch_offset: int = 0,
    ) -> None:
        self.name = name
        self.regime = regime
        self.config = config
        self.tasks = tasks
        self.env = env
        self.overrides = overrides
        self.peer = peer
        self.after = after  # a run whose archive this one needs
        self.epoch_offset = epoch_offset  # for the plot: epochs trained before this run
        self.status = "pending"


def parse_rate(text: str) -> Fraction:
    try:
        rate = Fraction(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (e.g. 0.5, 1, 2/3)") from None
    if not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError(f"a slicing rate lies in [0, 1], got {text}")
    return rate


def encoder_info(encoder: str) -> Dict[str, int]:
    folder = Path(encoder) if Path(encoder).is_absolute() else ROOT / encoder
    config = json.loads((folder / "config.json").read_text())
    layers = config.get("num_hidden_layers", config.get("n_layer"))
    hidden = config.get("hidden_size", config.get("d_model"))
    if layers is None or hidden is None:
        sys.exit(f"cannot read the depth and width of {folder}/config.json")
    return {"layers": int(layers), "hidden": int(hidden)}


def continue_from(archive: str) -> Dict[str, Any]:
    """`-o` overrides that start a run from every weight (and the vocabulary) of a finished run."""
    return {
        "model.initializer": {
            "regexes": [[".*", {"type": "bioner_from_archive", "archive_file": archive}]]
        },
        "vocabulary": {"type": "from_files", "directory": archive},
    }


def corpus_list() -> List[Dict[str, Any]]:
    """The corpora the configs choose from: the built-in list merged with HSL_BIONER_CORPORA."""
    import _jsonnet

    from hsl_bioner.corpora import CORPORA_JSON, CORPORA_SETTING, corpora_json

    user = corpora_json(os.environ.get(CORPORA_SETTING, ""))
    try:
        return json.loads(
            _jsonnet.evaluate_snippet(
                "corpora",
                "(import 'training_config/lib/corpora.libsonnet').list",
                jpathdir=[str(ROOT)],
                ext_vars={CORPORA_JSON: user},
            )
        )
    except RuntimeError as error:
        sys.exit(str(error))


def choose_datasets(args: argparse.Namespace, corpora: List[Dict[str, Any]]) -> None:
    """Sets `args.datasets` (names, in the report's order), `args.corpora` (name -> entry) and
    `args.folders` (name -> folder); stops unless every data set is of the category and its
    train, devel and test files are all there."""
    of_category = [c for c in corpora if c["category"] == args.category]
    if not of_category:
        categories = sorted({c["category"] for c in corpora})
        sys.exit(f"--category {args.category}: no data set of it; categories: {categories}")
    names = args.datasets or DEFAULT_DATASETS.get(args.category) or [
        c["name"] for c in of_category
    ]
    known = {c["name"]: c for c in of_category}
    others = [name for name in names if name not in known]
    if others:
        sys.exit(
            f"--datasets: {', '.join(others)} not of category {args.category}; its data sets: "
            f"{' '.join(known)}"
        )
    if len(set(names)) != len(names):
        sys.exit(f"--datasets: a data set named twice in {' '.join(names)}")
    folders = {}
    for name in names:
        folder = Path(known[name]["folder"])
        folders[name] = folder if folder.is_absolute() else args.data_root / folder
    absent = {
        name: folder
        for name, folder in folders.items()
        if not all((folder / f"{split}.tsv").is_file() for split in ("train", "devel", "test"))
    }
    if absent:
        present = [name for name in names if name not in absent]
        sys.exit(
            "Data sets without their train/devel/test.tsv: "
            + "; ".join(f"{name} ({folder})" for name, folder in absent.items())
            + ". The built-in corpora are published at "
            "https://github.com/cambridgeltl/MTL-Bioinformatics-2016 (folder data/<folder>). "
            + (
                f"Run on the present ones: --datasets {' '.join(present)}"
                if present
                else "None of them is present: check --data-root."
            )
        )
    args.datasets = list(names)
    args.corpora = {name: known[name] for name in names}
    args.folders = folders


def plan(args: argparse.Namespace, work: Path, layers: int, hidden: int) -> List[Run]:
    tasks = list(args.datasets)
    base_env = {
        "HSL_BIONER_DATA": str(args.data_root),
        "HSL_BIONER_ENCODER": args.encoder,
        "HSL_BIONER_CATEGORY": args.category,
        # Exactly these data sets in the MTL runs (not whatever else the category holds).
        "HSL_BIONER_DATASETS": ",".join(tasks),
    }

    def ours(run_tasks: List[str], epochs: int) -> Dict[str, Any]:
        overrides: Dict[str, Any] = {
            f"dataset_reader.readers.{task}.max_instances": args.train_sentences
            for task in run_tasks
        }
        overrides.update(
            {
                "trainer.num_epochs": epochs,
                "data_loader.batch_size": args.batch_size,
                "validation_data_loader.batch_size": 64,
                "trainer.optimizer.lr": args.lr,
                "trainer.optimizer.head_lr": args.head_lr,
                "evaluate_on_test": False,  # the reader's cap would cut the test file too
            }
        )
        return overrides

    peer_overrides = {
        "dataset_reader.max_instances": args.train_sentences,
        "trainer.num_epochs": args.epochs,
        "data_loader.batch_sampler.batch_size": args.batch_size,
        "trainer.optimizer.lr": args.head_lr,
        "trainer.optimizer.parameter_groups": [[["^text_field_embedder\\."], {"lr": args.lr}]],
        "model.encoder.input_dim": hidden,
        "evaluate_on_test": False,
    }
    runs: List[Run] = []
    for task in tasks:
        env = {**base_env, "HSL_BIONER_DATASET": task}
        runs.append(Run(f"peer_{task}", PEER, PEER_CONFIG, [task], env, peer_overrides, peer=True))
        runs.append(
            Run(
                f"stl_{task}",
                STL,
                "training_config/stl.jsonnet",
                [task],
                env,
                ours([task], args.epochs),
            )
        )
    xc = Run(
        "mtl_xc", XC, "training_config/mtl_xc.jsonnet", tasks, base_env, ours(tasks, args.epochs)
    )
    runs.append(xc)
    ls_runs = []
    for rate in args.rates:
        k = rate * layers
        if k.denominator != 1:
            sys.exit(f"rate {rate} x {layers} layers is not a whole number of layers")
        env = {
            **base_env,
            "HSL_BIONER_SLICING_RATE": repr(float(rate)),
            "HSL_BIONER_MTL_XC_ARCHIVE": str(work / xc.name / "model.tar.gz"),
        }
        ls = Run(
            f"mtl_ls_k{k.numerator}",
            ls_label(rate, k.numerator),
            "training_config/mtl_ls.jsonnet",
            tasks,
            env,
            ours(tasks, args.epochs),
            after=xc,
        )
        ls_runs.append(ls)
    runs.extend(ls_runs)
    if args.continue_epochs > 0 and ls_runs:
        base = ls_runs[0]
        overrides = {
            **ours(tasks, args.continue_epochs),
            **continue_from(str(work / base.name / "model.tar.gz")),
        }
        runs.append(
            Run(
                f"{base.name}_plus{args.continue_epochs}",
                f"{base.regime} + {args.continue_epochs} epoch(s), continued",
                base.config,
                tasks,
                base.env,
                overrides,
                after=base,
                epoch_offset=args.epochs,
            )
        )
    return runs


def ls_label(rate: Fraction, k: int) -> str:
    return f"MTL-LS {float(rate):.2f} (k={k})"


# --------------------------------------------------------------------------------------------
# Steps


def train(run: Run, work: Path, timeout_s: float, log: Log) -> bool:
    directory = work / run.name
    if (directory / "metrics.json").is_file() and archive_ok(directory / "model.tar.gz"):
        run.status = "done"
        return True
    if run.after is not None and run.after.status != "done":
        run.status = f"skipped ({run.after.name} did not finish)"
        log(f"{run.name}: {run.status}")
        return False
    args = ["train", run.config, "-s", str(directory), "-o", json.dumps(run.overrides)]
    if (directory / "config.json").is_file() and any(directory.glob("model_state_e*_b*.th")):
        # An interrupted run: continue from its last completed epoch. (A run stopped while
        # writing its archive, after metrics.json, passes through its epochs and archives again.)
        (directory / "model.tar.gz").unlink(missing_ok=True)
        args.append("-r")
        log(f"{run.name}: resuming (allennlp train -r)")
    elif directory.exists():
        shutil.rmtree(directory)  # started but never reached a checkpoint: start again
    if run.peer:
        args += ["--include-package", PEER_PACKAGE]
    log(f"{run.name}: training ({run.regime})")
    started = time.time()
    status = run_cli(args, run.env, work / "logs" / f"{run.name}.train.log", timeout_s)
    record_time(work, f"{run.name}.train", time.time() - started)
    if status != "ok" or not (directory / "metrics.json").is_file():
        run.status = f"training {status}"
        log(f"{run.name}: training {status}, see {work / 'logs' / (run.name + '.train.log')}")
        return False
    run.status = "done"
    log(f"{run.name}: trained in {time.time() - started:.0f} s")
    return True


def archive_ok(path: Path) -> bool:
    """Whether `path` is a complete model archive (not one cut short by a stopped process)."""
    if not path.is_file():
        return False
    try:
        with tarfile.open(path) as archive:
            names = {member.name for member in archive}
    except (tarfile.TarError, OSError, EOFError):
        return False
    return {"config.json", "weights.th"} <= names


def test_input(run: Run, folders: Dict[str, Path]) -> str:
    paths = {task: str(folders[task] / "test.tsv") for task in run.tasks}
    if run.peer:
        return paths[run.tasks[0]]
    if len(paths) == 1:
        task, path = next(iter(paths.items()))
        return f"{task}={path}"
    return json.dumps(paths)


def evaluate(
    run: Run,
    archive: Path,
    output: Path,
    args: argparse.Namespace,
    work: Path,
    log: Log,
    predictions: Optional[Path] = None,
) -> bool:
    """Test scores of `archive` on the whole test files of the run's data sets (and, if
    `predictions` is given, the predicted tags there)."""
    if output.is_file() and (predictions is None or predictions.is_file()):
        return True
    if not archive.is_file():
        return False
    cap = args.test_sentences  # None: the whole file
    if run.peer:
        overrides: Dict[str, Any] = {"dataset_reader.max_instances": cap}
    else:
        overrides = {f"dataset_reader.readers.{task}.max_instances": cap for task in run.tasks}
    cli = [
        "evaluate",
        str(archive),
        test_input(run, args.folders),
        "--output-file",
        str(output) + ".partial",
        "-o",
        json.dumps(overrides),
    ]
    if predictions is not None:
        cli += ["--predictions-output-file", str(predictions) + ".partial"]
    if run.peer:
        cli += ["--include-package", PEER_PACKAGE]
    started = time.time()
    status = run_cli(
        cli, run.env, work / "logs" / f"{run.name}.{output.stem}.log", args.run_timeout * 60
    )
    record_time(work, f"{run.name}.{output.stem}", time.time() - started)
    partial = Path(str(output) + ".partial")
    if status != "ok" or not partial.is_file():
        log(f"{run.name}: {output.stem} {status}, see {work / 'logs'}")
        return False
    if predictions is not None:
        Path(str(predictions) + ".partial").rename(predictions)
    partial.rename(output)
    log(f"{run.name}: {output.stem} in {time.time() - started:.0f} s")
    return True


def average(run: Run, work: Path, last: int, timeout_s: float, log: Log) -> Optional[Path]:
    directory = work / run.name
    archive = directory / f"model_avg_last{last}.tar.gz"
    if archive_ok(archive):
        return archive
    if run.status != "done":
        return None
    started = time.time()
    status = run_cli(
        ["bioner-average", str(directory), "--last", str(last), "--output", str(archive)],
        run.env,
        work / "logs" / f"{run.name}.average.log",
        timeout_s,
    )
    record_time(work, f"{run.name}.average", time.time() - started)
    if status != "ok":
        log(f"{run.name}: averaging {status}")
        return None
    return archive


def record_time(work: Path, step: str, seconds: float) -> None:
    path = work / "timings.json"
    timings = json.loads(path.read_text()) if path.is_file() else {}
    timings[step] = timings.get(step, 0.0) + round(seconds, 1)
    path.write_text(json.dumps(timings, indent=1))


# --------------------------------------------------------------------------------------------
# Reading the results


def test_scores(run: Run, path: Path) -> Dict[str, Dict[str, float]]:
    if not path.is_file():
        return {}
    metrics = json.loads(path.read_text())
    if run.peer:
        return {
            run.tasks[0]: {
                "precision": metrics["precision-overall"],
                "recall": metrics["recall-overall"],
                "f1": metrics["f1-measure-overall"],
            }
        }
    return {
        task: {m: metrics[f"{task}_{m}"] for m in ("precision", "recall", "f1")}
        for task in run.tasks
    }


def dev_scores(run: Run, work: Path) -> Dict[str, float]:
    """Dev F1 per task at the run's best epoch (the weights in its model.tar.gz)."""
    path = work / run.name / "metrics.json"
    if not path.is_file():
        return {}
    metrics = json.loads(path.read_text())
    if run.peer:
        return {run.tasks[0]: metrics["best_validation_f1-measure-overall"]}
    return {task: metrics[f"best_validation_{task}_f1"] for task in run.tasks}


def best_epoch(run: Run, work: Path) -> Optional[int]:
    """The epoch (1-based) whose weights are in the run's model.tar.gz."""
    path = work / run.name / "metrics.json"
    if not path.is_file():
        return None
    return int(json.loads(path.read_text())["best_epoch"]) + 1


def dev_curve(run: Run, work: Path) -> Dict[str, List[float]]:
    """Dev F1 per task after each epoch (metrics_epoch_N.json)."""
    files = sorted(
        (work / run.name).glob("metrics_epoch_*.json"), key=lambda p: int(p.stem.rsplit("_", 1)[1])
    )
    curves: Dict[str, List[float]] = {task: [] for task in run.tasks}
    for path in files:
        metrics = json.loads(path.read_text())
        for task in run.tasks:
            key = "validation_f1-measure-overall" if run.peer else f"validation_{task}_f1"
            curves[task].append(metrics[key])
    return curves


def machine() -> Dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = next(
            line
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        memory_gb = round(int(memory.split()[1]) / 1024**2)
    except (OSError, StopIteration):
        memory_gb = None
    import torch

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gb": memory_gb,
        "gpu": torch.cuda.is_available(),
        "os": platform.platform(),
    }


def software() -> Dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("allennlp", "allennlp-models", "torch", "transformers", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    try:
        versions["hsl_bioner (git)"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        pass
    return versions


# --------------------------------------------------------------------------------------------
# The data-level analysis (--analyze)


def write_sentences(source: Path, target: Path, limit: Optional[int]) -> Path:
    """The first `limit` sentences of `source` (all if None), as the reader counts them."""
    from hsl_bioner.data.iob_reader import read_iob_sentences

    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(str(target) + ".partial")
    with open(partial, "w", encoding="utf-8") as out:
        for number, sentence in enumerate(read_iob_sentences(source)):
            if limit is not None and number >= limit:
                break
            out.writelines(f"{w}\t{tag}\n" for w, tag in zip(sentence.words, sentence.tags))
            out.write("\n")
    partial.rename(target)
    return target


def analysis_specs(
    runs: List[Run], results: Dict[str, Any], args: argparse.Namespace, work: Path
) -> Dict[str, List[Dict[str, Any]]]:
    """Regime -> the bioner-analyze spec entries of its data sets. T is what the run trained on
    (the first --train-sentences sentences of each of its training files), L the test sentences
    it was tested on, P its predictions there."""
    data = work / "analysis" / "data"
    train = {
        task: str(write_sentences(args.folders[task] / "train.tsv",
                                  data / f"{task}.train.tsv", args.train_sentences))
        for task in args.datasets
    }
    test = {
        task: str(write_sentences(args.folders[task] / "test.tsv",
                                  data / f"{task}.test.tsv", args.test_sentences))
        for task in args.datasets
    }

    def entry(run: Run, task: str) -> Dict[str, Any]:
        spec: Dict[str, Any] = {
            "name": task,
            "train": [train[t] for t in run.tasks],
            "test": test[task],
            "predictions": str(work / run.name / "test.predictions.jsonl"),
        }
        if not run.peer:
            spec["task"] = task
        # A corpus with types outside the category (mapped to 'O' in training): keep the gold
        # entities of the category's types only, in T and L.
        corpora = [args.corpora[t] for t in run.tasks]
        if any(c.get("other_types") for c in corpora):
            spec["types"] = sorted(
                {t for c in corpora for t, to in c["type_map"].items() if to != "O"}
            )
        return spec

    specs: Dict[str, List[Dict[str, Any]]] = {}
    for run in runs:
        if run.epoch_offset > 0 or not (work / run.name / "test.predictions.jsonl").is_file():
            continue
        for task in run.tasks:
            specs.setdefault(run.regime, []).append(entry(run, task))
    for task, regime in results["selected_rate"].items():
        specs.setdefault(LS_SELECTED, []).append(
            entry(next(r for r in runs if r.regime == regime and task in r.tasks), task)
        )
    return specs


def analyse(
    runs: List[Run], results: Dict[str, Any], args: argparse.Namespace, work: Path,
    output_dir: Path, log: Log,
) -> Dict[str, Any]:
    """Runs `allennlp bioner-analyze` once per regime; regime -> data set -> its ratios."""
    analysis: Dict[str, Any] = {}
    for regime, entries in analysis_specs(runs, results, args, work).items():
        slug = "".join(ch if ch.isalnum() else "_" for ch in regime).strip("_").lower()
        spec = work / "analysis" / f"{slug}.json"
        spec.write_text(json.dumps({"datasets": entries}, indent=1))
        output = output_dir / "analysis" / f"{slug}.json"
        status = run_cli(
            ["bioner-analyze", "--spec", str(spec), "--output-json", str(output),
             "--plots", str(output_dir / "analysis" / slug)],
            {},
            work / "logs" / f"analysis_{slug}.log",
            args.run_timeout * 60,
        )
        if status != "ok":
            log(f"analysis of {regime}: {status}, see {work / 'logs'}")
            continue
        written = json.loads(output.read_text())
        analysis[regime] = {
            "folder": str((output_dir / "analysis" / slug).relative_to(output_dir)),
            "datasets": {
                name: {"ratios": d["ratios"], "fractions": d["fractions"]}
                for name, d in written["datasets"].items()
            },
        }
        log(f"analysis of {regime}: {output}")
    return analysis


def analysis_markdown(analysis: Dict[str, Any], tasks: List[str]) -> List[str]:
    ratios = list(next(iter(analysis.values()))["datasets"][tasks[0]]["ratios"])
    lines = [
        "## The paper's data-level analysis (`allennlp bioner-analyze`)",
        "",
        "T: the training sentences of the run (the data set's for the peer and STL, all data "
        "sets' for MTL); L: the test sentences' gold entities; P: the predicted ones (strings).",
        "",
        "| data set | regime | " + " | ".join(ratios) + " |",
        "|---|---|" + "---|" * len(ratios),
    ]
    for task in tasks:
        for regime, entry in analysis.items():
            values = entry["datasets"].get(task, {}).get("ratios")
            if values is None:
                continue
            cells = ["n/a" if values[r] is None else f"{values[r]:.3f}" for r in ratios]
            lines.append(f"| {task} | {regime} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Pictures (radar chart of the ratios, Euler diagram per data set): "
        + ", ".join(f"[{regime}]({entry['folder']}/radar.png)" for regime, entry in
                    analysis.items())
        + ".",
        "",
    ]
    return lines


# --------------------------------------------------------------------------------------------
# The report


def collect(runs: List[Run], work: Path, args: argparse.Namespace) -> Dict[str, Any]:
    tasks = list(args.datasets)
    table: Dict[str, Dict[str, Dict[str, float]]] = {}
    dev: Dict[str, Dict[str, float]] = {}
    curves: Dict[str, Dict[str, Any]] = {}
    schedule: Dict[str, Dict[str, Dict[str, float]]] = {}
    schedule_base: Dict[str, str] = {}
    for run in runs:
        scores = test_scores(run, work / run.name / "test.json")
        is_option = run.epoch_offset > 0
        target = schedule if is_option else table
        for task, s in scores.items():
            target.setdefault(run.regime, {})[task] = s
        if is_option and run.after is not None:
            schedule_base[run.regime] = run.after.regime
        for task, f1 in dev_scores(run, work).items():
            dev.setdefault(run.regime, {})[task] = f1
        for task, curve in dev_curve(run, work).items():
            if curve:
                curves.setdefault(
                    run.regime,
                    {
                        "epoch_offset": run.epoch_offset,
                        "after": run.after.regime if is_option and run.after else None,
                        "best_epoch": best_epoch(run, work),
                    },
                )[task] = curve
        if args.average_last > 0 and not run.peer:
            averaged = test_scores(run, work / run.name / f"test_avg_last{args.average_last}.json")
            label = f"{run.regime}, mean of last {args.average_last} checkpoints"
            for task, s in averaged.items():
                schedule.setdefault(label, {})[task] = s
            if averaged:
                schedule_base[label] = run.regime
    ls_regimes = [r.regime for r in runs if r.name.startswith("mtl_ls_k") and r.epoch_offset == 0]
    selected: Dict[str, str] = {}
    for task in tasks:
        candidates = [r for r in ls_regimes if task in dev.get(r, {}) and task in table.get(r, {})]
        if len(candidates) == len(ls_regimes) and candidates:
            # Highest dev F1; on a tie the first rate given.
            best = max(candidates, key=lambda r: (dev[r][task], -candidates.index(r)))
            selected[task] = best
            table.setdefault(LS_SELECTED, {})[task] = dict(table[best][task])
    return {
        "datasets": tasks,
        "table": table,
        "selected_rate": selected,
        "dev_f1": dev,
        "dev_curves": curves,
        "schedule_options": schedule,
        "schedule_base": schedule_base,
        "statuses": {run.name: run.status for run in runs},
    }


def fmt(value: Optional[float]) -> str:
    return "—" if value is None else f"{100 * value:.2f}"


def deltas(results: Dict[str, Any]) -> Dict[str, Any]:
    """Test F1 differences per data set: the regimes' (the issue's targets first), and each
    schedule option against the run it was made from."""
    table = results["table"]
    regimes: Dict[str, Dict[str, float]] = {}
    for a, b in [(STL, PEER), (LS_SELECTED, STL), (XC, STL), (LS_SELECTED, XC)]:
        for task in results["datasets"]:
            if task in table.get(a, {}) and task in table.get(b, {}):
                regimes.setdefault(f"{a} − {b}", {})[task] = (
                    table[a][task]["f1"] - table[b][task]["f1"]
                )
    schedule: Dict[str, Dict[str, Any]] = {}
    for option, base in results["schedule_base"].items():
        scores = results["schedule_options"].get(option, {})
        for task in results["datasets"]:
            if task in scores and task in table.get(base, {}):
                entry = schedule.setdefault(option, {"base": base, "f1": {}})
                entry["f1"][task] = scores[task]["f1"] - table[base][task]["f1"]
    return {"regimes": regimes, "schedule_options": schedule}


def markdown(results: Dict[str, Any]) -> str:
    tasks = list(results["datasets"])
    table = results["table"]
    regimes = [r for r in results["regime_order"] if r in table]
    budget = results["budget"]
    lines = [
        "# Quality: the paper's Table 2 on CPU",
        "",
        f"Written by `benchmarks/quality.py` on {results['date']}. "
        "Command (from the project root):",
        "",
        f"    {results['command']}",
        "",
        f"Machine: {results['machine']['cpu']}, {results['machine']['cores']} cores "
        f"({results['machine']['torch_threads']} torch threads), "
        f"{results['machine']['memory_gb']} GB, "
        f"GPU: {'yes' if results['machine']['gpu'] else 'none'}."
        f" Software: " + ", ".join(f"{k} {v}" for k, v in results["software"].items()) + ".",
        "",
        f"Category: {budget['category']}; data sets: {', '.join(tasks)}.",
        "",
        f"Budget: encoder `{budget['encoder']}` ({budget['layers']} layers, hidden "
        f"{budget['hidden']}); {budget['epochs']} epochs on the first {budget['train_sentences']} "
        f"sentences of each training file (and of each development file); batch size "
        f"{budget['batch_size']}; lr {budget['lr']:g} (top encoder layer; ours decays ×0.9 per "
        f"layer downwards, the peer uses it for every layer), heads {budget['head_lr']:g}; at most "
        f"{budget['run_timeout_min']} min per subprocess; seeds of the configs (13270). Test: "
        + (
            "the whole test files."
            if budget["test_sentences"] is None
            else f"the first {budget['test_sentences']} sentences of each test file (smoke run)."
        )
        + f" Wall time of all steps: {results['wall_time_min']:.0f} min.",
        "",
        "## Test F1 (entity level, exact span), shaped like the paper's Table 2",
        "",
        "| data set | " + " | ".join(regimes) + " |",
        "|---|" + "---|" * len(regimes),
    ]
    for task in tasks:
        cells = [fmt(table[r].get(task, {}).get("f1")) for r in regimes]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    selected = results["selected_rate"]
    if selected:
        lines += [
            "",
            "MTL-LS (dev-selected): "
            + "; ".join(f"{task} → {regime}" for task, regime in selected.items())
            + ".",
        ]
    lines += [
        "",
        "## Test precision / recall / F1",
        "",
        "| regime | " + " | ".join(f"{t} P | {t} R | {t} F1" for t in tasks) + " |",
        "|---|" + "---|---|---|" * len(tasks),
    ]
    rows = [(r, table[r]) for r in regimes] + list(results["schedule_options"].items())
    for regime, by_task in rows:
        cells = []
        for task in tasks:
            s = by_task.get(task, {})
            cells.append(" | ".join(fmt(s.get(m)) for m in ("precision", "recall", "f1")))
        lines.append(f"| {regime} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Development F1 at each run's best epoch (the MTL-LS rate is picked on this)",
        "",
        "| regime | " + " | ".join(tasks) + " |",
        "|---|" + "---|" * len(tasks),
    ]
    for regime, by_task in results["dev_f1"].items():
        cells = []
        for task in tasks:
            mark = " ◀" if selected.get(task) == regime else ""
            cells.append(fmt(by_task.get(task)) + mark if task in by_task else "")
        lines.append(f"| {regime} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Per-data-set deltas (test F1 points)",
        "",
        "| comparison | " + " | ".join(tasks) + " |",
        "|---|" + "---|" * len(tasks),
    ]
    for comparison, by_task in results["deltas"]["regimes"].items():
        cells = [f"{100 * by_task[t]:+.2f}" if t in by_task else "—" for t in tasks]
        lines.append(f"| {comparison} | " + " | ".join(cells) + " |")
    options = results["deltas"]["schedule_options"]
    if options:
        lines += [
            "",
            "The paper's schedule as options (test F1 of the option minus that of the run it was "
            "made from):",
            "",
            "| option | made from | " + " | ".join(tasks) + " |",
            "|---|---|" + "---|" * len(tasks),
        ]
        for option, entry in options.items():
            cells = [f"{100 * entry['f1'][t]:+.2f}" if t in entry["f1"] else "—" for t in tasks]
            lines.append(f"| {option} | {entry['base']} | " + " | ".join(cells) + " |")
    lines += ["", "![Dev F1 per epoch](dev_f1.png)", ""]
    if results.get("analysis"):
        lines += analysis_markdown(results["analysis"], tasks)
    problems = {name: status for name, status in results["statuses"].items() if status != "done"}
    if problems:
        lines += [
            "Runs that did not finish: "
            + "; ".join(f"`{name}`: {status}" for name, status in problems.items()),
            "",
        ]
    if "reproducibility" in results:
        rep = results["reproducibility"]
        lines += ["## Reproducibility", "", rep["summary"], ""]
    lines += ["## Wall time per step (s)", "", "| step | s |", "|---|---|"]
    lines += [f"| {step} | {seconds:.0f} |" for step, seconds in results["timings"].items()]
    return "\n".join(lines) + "\n"


def plot(results: Dict[str, Any], path: Path, budget: Dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = results["dev_curves"]
    tasks = list(results["datasets"])
    figure, grid = plt.subplots(
        1, len(tasks), figsize=(6.2 * len(tasks), 4.6), sharey=False, squeeze=False
    )
    axes = list(grid[0])
    colours = plt.get_cmap("tab10")
    order = list(curves)
    for axis, task in zip(axes, tasks):
        for index, regime in enumerate(order):
            data = curves[regime]
            if task not in data:
                continue
            ys = [100 * y for y in data[task]]
            xs = list(range(data["epoch_offset"] + 1, data["epoch_offset"] + len(ys) + 1))
            style = {"color": colours(index % 10), "marker": "o", "linewidth": 1.8}
            after = data.get("after")
            if after and after in curves and task in curves[after]:
                # The continued run starts from its base's archive: the best epoch by dev F1.
                best = curves[after]["best_epoch"] or len(curves[after][task])
                xs = [best] + xs
                ys = [100 * curves[after][task][best - 1]] + ys
                style.update(linestyle="--", marker="s")
            axis.plot(xs, ys, label=regime, **style)
        axis.set_title(f"{task} (dev: first {budget['train_sentences']} sentences)")
        axis.set_xlabel("epoch")
        axis.set_ylabel("dev F1 (%)")
        axis.grid(alpha=0.3)
        axis.xaxis.get_major_locator().set_params(integer=True)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, frameon=False, fontsize="small")
    figure.suptitle(
        f"Dev F1 per epoch — {Path(budget['encoder']).name}, {budget['train_sentences']} training "
        f"sentences per data set, batch {budget['batch_size']}, CPU",
        fontsize="medium",
    )
    figure.tight_layout(rect=(0, 0.12, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def compare(results: Dict[str, Any], other_path: Path) -> Dict[str, Any]:
    other = json.loads(other_path.read_text())
    differences = []
    compared = 0
    for section in ("table", "schedule_options"):
        for regime, by_task in results[section].items():
            for task, scores in by_task.items():
                for metric, value in scores.items():
                    theirs = other.get(section, {}).get(regime, {}).get(task, {}).get(metric)
                    if theirs is None:
                        continue
                    compared += 1
                    if theirs != value:
                        differences.append((section, regime, task, metric, value, theirs))
    for regime, by_task in results["dev_f1"].items():
        for task, value in by_task.items():
            theirs = other.get("dev_f1", {}).get(regime, {}).get(task)
            if theirs is not None:
                compared += 1
                if theirs != value:
                    differences.append(("dev_f1", regime, task, "f1", value, theirs))
    if not differences:
        summary = (
            f"Compared with `{other_path}`: all {compared} scores (test P/R/F1 of every "
            "row, dev F1 of every run) are identical."
        )
    else:
        largest = max(abs(a - b) for *_, a, b in differences)
        summary = (
            f"Compared with `{other_path}`: {len(differences)} of {compared} scores differ "
            f"(largest difference {100 * largest:.4f} F1 points)."
        )
    return {
        "other": str(other_path),
        "compared": compared,
        "differences": [list(d) for d in differences],
        "summary": summary,
    }


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--category",
        default=DEFAULT_CATEGORY,
        help="entity category (a built-in one or one of HSL_BIONER_CORPORA)",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        metavar="NAME",
        help="its data sets, in the report's order (default: NCBI-disease BC5CDR-disease for "
        "disease, every data set of the category otherwise)",
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="also run bioner-analyze (the paper's five ratios, radar and Euler pictures) on "
        "the test predictions of every regime",
    )
    parser.add_argument(
        "--work",
        help="folder of the runs (one serialization dir each) and logs (default: "
        "benchmarks/quality/work, benchmarks/quality/work-<category> for other categories)",
    )
    parser.add_argument(
        "--output-dir",
        help="where results.md, results.json and dev_f1.png go (default: benchmarks/quality, "
        "benchmarks/quality/<category> for other categories)",
    )
    parser.add_argument(
        "--encoder",
        default="models/all-MiniLM-L6-v2",
        help="local encoder folder (make minilm) or Hugging Face name",
    )
    parser.add_argument(
        "--data-root",
        default=os.environ.get(
            "HSL_BIONER_DATA", str(ROOT.parent / "shared/data/MTL-Bioinformatics-2016")
        ),
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--train-sentences",
        type=int,
        default=1200,
        help="first N sentences of each training (and development) file",
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument(
        "--rates",
        type=parse_rate,
        nargs="+",
        default=[Fraction(1, 2), Fraction(1)],
        help="MTL-LS slicing rates (whole numbers of layers: k = rate x n)",
    )
    parser.add_argument(
        "--continue-epochs",
        type=int,
        default=1,
        help="continue the first MTL-LS run for this many epochs (0: no)",
    )
    parser.add_argument(
        "--average-last",
        type=int,
        default=2,
        help="also test the mean weights of each run's last N checkpoints (0: no)",
    )
    parser.add_argument(
        "--run-timeout", type=float, default=60, help="minutes allowed to each allennlp subprocess"
    )
    parser.add_argument(
        "--test-sentences",
        type=int,
        default=None,
        help="first N sentences of each test file (smoke runs; default all)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="RUN",
        help="train and test only these runs (by name; the others must be done or are left "
        "out): two processes with disjoint --only sets use both cores, e.g. the MTL-LS rates "
        "once MTL-XC is done; then --report-only",
    )
    parser.add_argument("--compare", type=Path, help="results.json of an earlier run to compare")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the data sets, print the runs (settings, config, overrides) and stop",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="write the report from the runs done so far; train nothing",
    )
    args = parser.parse_args()

    args.data_root = Path(args.data_root).resolve()
    if not args.data_root.is_dir():
        sys.exit(f"corpora not found at {args.data_root}: pass --data-root or set HSL_BIONER_DATA")
    if args.average_last > args.epochs:
        sys.exit("--average-last cannot exceed --epochs (one checkpoint per epoch)")
    choose_datasets(args, corpus_list())
    other = args.category != DEFAULT_CATEGORY
    work = Path(args.work or ("benchmarks/quality/work" + (f"-{args.category}" if other else "")))
    work = (work if work.is_absolute() else ROOT / work).resolve()
    output_dir = Path(
        args.output_dir or ("benchmarks/quality" + (f"/{args.category}" if other else ""))
    )
    output_dir = (output_dir if output_dir.is_absolute() else ROOT / output_dir).resolve()
    if args.dry_run:
        shape = encoder_info(args.encoder)
        print(f"{args.category}: {', '.join(args.datasets)}; work {work}; output {output_dir}")
        for run in plan(args, work, shape["layers"], shape["hidden"]):
            env = " ".join(f"{k}={v}" for k, v in run.env.items())
            print(f"{run.name}: {env} allennlp train {run.config} -o '{json.dumps(run.overrides)}'")
        return
    work.mkdir(parents=True, exist_ok=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    log = Log(work / "quality.log")
    signal.signal(signal.SIGTERM, _stop_child)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    shape = encoder_info(args.encoder)
    budget = {
        "category": args.category,
        "datasets": args.datasets,
        "encoder": args.encoder,
        "layers": shape["layers"],
        "hidden": shape["hidden"],
        "epochs": args.epochs,
        "train_sentences": args.train_sentences,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "head_lr": args.head_lr,
        "rates": [str(rate) for rate in args.rates],
        "continue_epochs": args.continue_epochs,
        "average_last": args.average_last,
        "test_sentences": args.test_sentences,
        "data_root": str(args.data_root),
    }
    budget_file = work / "budget.json"
    if budget_file.is_file():
        before = json.loads(budget_file.read_text())
        # Work folders from before --category and --datasets held the disease runs.
        before.setdefault("category", DEFAULT_CATEGORY)
        before.setdefault("datasets", DEFAULT_DATASETS[DEFAULT_CATEGORY])
        if before != budget:
            changed = {k: (before.get(k), v) for k, v in budget.items() if before.get(k) != v}
            sys.exit(f"{work} holds runs of another budget ({changed}); use another --work")
    else:
        budget_file.write_text(json.dumps(budget, indent=1))
    budget["run_timeout_min"] = args.run_timeout

    runs = plan(args, work, shape["layers"], shape["hidden"])
    command = shlex.join([".venv/bin/python", "benchmarks/quality.py", *sys.argv[1:]])
    log(f"quality benchmark: {command}")
    log(f"{len(runs)} runs in {work}: " + ", ".join(run.name for run in runs))
    timeout_s = args.run_timeout * 60
    unknown = set(args.only or []) - {run.name for run in runs}
    if unknown:
        sys.exit(f"--only: no run named {', '.join(sorted(unknown))}")
    for run in runs:
        if args.report_only or (args.only and run.name not in args.only):
            done = (work / run.name / "metrics.json").is_file()
            run.status = "done" if done else "not run"
            continue
        if not train(run, work, timeout_s, log):
            continue
        evaluate(
            run,
            work / run.name / "model.tar.gz",
            work / run.name / "test.json",
            args,
            work,
            log,
            predictions=work / run.name / "test.predictions.jsonl" if args.analyze else None,
        )
        if args.average_last > 0 and not run.peer and run.epoch_offset == 0:
            archive = average(run, work, args.average_last, timeout_s, log)
            if archive is not None:
                evaluate(
                    run,
                    archive,
                    work / run.name / f"test_avg_last{args.average_last}.json",
                    args,
                    work,
                    log,
                )

    results = collect(runs, work, args)
    results["regime_order"] = (
        [PEER, STL, XC]
        + [r.regime for r in runs if r.name.startswith("mtl_ls_k") and r.epoch_offset == 0]
        + [LS_SELECTED]
    )
    results["deltas"] = deltas(results)
    if args.analyze:
        results["analysis"] = analyse(runs, results, args, work, output_dir, log)
    results["date"] = datetime.date.today().isoformat()
    results["command"] = command
    results["budget"] = budget
    results["machine"] = machine()
    results["software"] = software()
    timings_file = work / "timings.json"
    results["timings"] = json.loads(timings_file.read_text()) if timings_file.is_file() else {}
    results["wall_time_min"] = sum(results["timings"].values()) / 60
    if args.compare is not None:
        results["reproducibility"] = compare(results, args.compare)
        log(results["reproducibility"]["summary"])
    (output_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (output_dir / "results.md").write_text(markdown(results), encoding="utf-8")
    plot(results, output_dir / "dev_f1.png", budget)
    log(f"wrote {output_dir / 'results.md'}, results.json and dev_f1.png")
    print(markdown(results))
    if any(run.status != "done" for run in runs if not args.only or run.name in args.only):
        sys.exit(1)


if __name__ == "__main__":
    main()
