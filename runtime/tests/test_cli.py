"""The runtime's `bioner-tag FOLDER INPUT` (run as ``python -m hsl_bioner_runtime.cli``)."""

import json
import subprocess
import sys

import pytest

from hsl_bioner_runtime import Tagger

LINES = [
    "Patients with colorectal cancer were treated.",
    "",
    "   ",
    json.dumps({"id": "PMID9", "text": "Alzheimer's disease and breast cancer."}),
]


def _run(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "hsl_bioner_runtime.cli", *map(str, args)],
        input=stdin,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "docs.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def test_one_record_per_input_line_as_the_python_api_tags(tiny_folder, inputs, tmp_path):
    output = tmp_path / "out.jsonl"
    result = _run(tiny_folder, inputs, "--output-file", output, "--threads", "1")
    assert result.returncode == 0, result.stderr.decode()
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 4 and records[3]["id"] == "PMID9"  # blank lines keep their place
    expected = Tagger.load(tiny_folder).tag_documents(
        [{"text": line} for line in LINES[:3]] + [json.loads(LINES[3])]
    )
    assert records == expected
    assert "doc" in result.stderr.decode()  # the progress bar


def test_formats_tasks_and_stdin(tiny_folder, inputs):
    result = _run(
        tiny_folder,
        "-",
        "--format",
        "pubtator",
        "--tasks",
        "chem_a",
        "--no-progress",
        stdin=inputs.read_bytes(),
    )
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "PMID9|t|Alzheimer's disease and breast cancer." in out
    assert "\tdisease_a" not in out and result.stderr == b""
    bioc = _run(tiny_folder, inputs, "--format", "bioc-xml", "--no-progress")
    assert bioc.returncode == 0 and bioc.stdout.decode().count("<document>") == 4


def test_a_bad_line_is_named_after_the_lines_before_it(tiny_folder, tmp_path):
    inputs = tmp_path / "bad.txt"
    inputs.write_bytes(b'Fine text.\n{"id": 3, "text": \nLast.\n')
    result = _run(tiny_folder, inputs, "--no-progress")
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert f"{inputs}:2: Invalid JSON input line" in stderr and "(1 record," in stderr
    assert "Traceback" not in stderr
    assert [json.loads(line)["text"] for line in result.stdout.decode().splitlines()] == [
        "Fine text."
    ]


@pytest.mark.parametrize(
    "flags, status, message",
    [
        (["--threads", "0"], 2, "argument --threads: must be at least 1, got 0"),
        (["--batch-size", "x"], 2, "argument --batch-size: must be a whole number, got 'x'"),
        (["--tasks", "gene_x"], 1, "bioner-tag: bad argument: Unknown task(s) gene_x"),
    ],
)
def test_bad_flags_are_named(tiny_folder, inputs, flags, status, message):
    result = _run(tiny_folder, inputs, *flags)
    assert result.returncode == status and message in result.stderr.decode()


def test_a_bad_folder_or_input_is_named(tmp_path, inputs, tiny_folder):
    result = _run(tmp_path / "missing", inputs)
    assert result.returncode == 1
    assert "bioner-tag: bad folder: " in result.stderr.decode()
    assert "no such folder" in result.stderr.decode()
    missing_input = _run(tiny_folder, tmp_path / "none.txt")
    assert missing_input.returncode == 1
    assert missing_input.stderr.decode().startswith(f"bioner-tag: cannot read {tmp_path}")
