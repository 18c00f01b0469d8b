import io
import json
import subprocess
import sys

import pytest
from allennlp.predictors import Predictor
from tqdm import tqdm

from hsl_bioner_runtime.formats.lines import count_lines
from hsl_bioner_runtime.stream import InputLineError, tag_stream
from tests.conftest import ROOT, run_allennlp


def test_one_record_per_input_line_in_every_format(fixture_runs, tmp_path):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    inputs = tmp_path / "docs.txt"
    inputs.write_text(
        "Patients with colorectal cancer were treated.\n"
        "\n"
        "   \n"
        + json.dumps({"id": "PMID9", "text": "Alzheimer's disease and breast cancer."})
        + "\n",
        encoding="utf-8",
    )
    output = tmp_path / "out.jsonl"
    run_allennlp(["bioner-tag", archive, str(inputs), "--output-file", str(output)])
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 4  # blank lines keep their place
    assert records[1]["entities"] == [] and records[3]["id"] == "PMID9"
    for record in records:
        for entity in record["entities"]:
            assert record["text"][entity["start"] : entity["end"]] == entity["text"]

    pubtator = tmp_path / "out.pubtator"
    run_allennlp(
        [
            "bioner-tag",
            archive,
            str(inputs),
            "--output-file",
            str(pubtator),
            "--format",
            "pubtator",
            "--tasks",
            "disease_a",
            "--no-progress",
        ]
    )
    assert "PMID9|t|Alzheimer's disease and breast cancer." in pubtator.read_text(encoding="utf-8")


def test_a_bad_line_is_reported_with_its_file_and_line(fixture_runs, tmp_path):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    inputs = tmp_path / "docs.txt"
    inputs.write_text('Fine text.\n{"id": 3, "text": \n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "allennlp", "bioner-tag", archive, str(inputs), "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert f"{inputs}:2: Invalid JSON input line" in result.stderr


def test_int8_prediction_agrees_with_fp32_on_most_tokens(fixture_runs):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    fp32 = Predictor.from_path(archive, "bioner")
    int8 = Predictor.from_path(archive, "bioner", int8=True)
    assert (
        int8._model.embedder.split.upper_stacks["disease_a"]["2"].ff.layer_1.__class__.__name__
        == "Linear"
    )
    assert (
        "quantized"
        in type(int8._model.embedder.split.upper_stacks["disease_a"]["2"].ff.layer_1).__module__
    )
    same = total = 0
    for line in open(ROOT / "fixtures" / "raw" / "abstracts.txt", encoding="utf-8"):
        a, b = fp32.predict(line), int8.predict(line)
        assert [s["tokens"] for s in a["sentences"]] == [s["tokens"] for s in b["sentences"]]
        for sa, sb in zip(a["sentences"], b["sentences"]):
            for task in sa["tags"]:
                same += sum(x == y for x, y in zip(sa["tags"][task], sb["tags"][task]))
                total += len(sa["tags"][task])
        for entity in b["entities"]:
            assert b["text"][entity["start"] : entity["end"]] == entity["text"]
    # Quantisation changes scores slightly; on the tiny fixture model nearly all tags agree.
    assert same / total >= 0.95, f"int8 agreed with fp32 on {same}/{total} tags"


# --- bad input: every case names file:line, and the records of the lines before it are written ---


@pytest.fixture(scope="module")
def predictor(fixture_runs):
    return Predictor.from_path(str(fixture_runs["mtl_ls"] / "model.tar.gz"), "bioner")


def _tag_bytes(predictor, data: bytes, batch_size: int = 16, name: str = "docs.txt"):
    """Runs `tag_stream` on the lines of `data` (as bioner-tag splits a file); returns the
    records written and the error raised (or None)."""
    sink = io.StringIO()
    error = None
    try:
        tag_stream(predictor.predict_batch_json, io.BytesIO(data), sink, batch_size, name)
    except InputLineError as raised:
        error = raised
    return [json.loads(line) for line in sink.getvalue().splitlines()], error


GOOD_LINES = ["Patients with colorectal cancer were treated.", "Alzheimer's disease is common."]


@pytest.mark.parametrize(
    "data, bad_line, reason",
    [
        (
            "Colorectal cancer.\nAlzheimer's disease.\n".encode("utf-16"),
            1,
            "starts with a UTF-16 LE byte-order mark",
        ),
        (
            "Colorectal cancer.\nAlzheimer's disease.\n".encode("utf-16-be"),
            1,
            "NUL byte at byte 1",
        ),
        (
            "Colorectal cancer.\nAlzheimer's disease.\n".encode("utf-16-le"),
            1,
            "NUL byte at byte 2",
        ),
        (
            "Colorectal cancer.\nAlzheimer's disease.\n".encode("utf-32"),
            1,
            "starts with a UTF-32 LE byte-order mark",
        ),
        (
            ("\n".join(GOOD_LINES) + "\n").encode() + "Caf\xe9 cancer.\nLast.\n".encode("latin-1"),
            3,
            r"not UTF-8: invalid continuation byte at byte 4 of the line (b'Caf\xe9 cancer.')",
        ),
        (
            (GOOD_LINES[0] + "\n").encode() + b"\x7fELF\x02\x01\x00\x00\x03\x00>\x00\nmore\n",
            2,
            "NUL byte at byte 7",
        ),
        (
            ("\n".join(GOOD_LINES) + "\n").encode() + b"\xed\xa0\x80 encoded surrogate\n",
            3,
            "not UTF-8",
        ),
    ],
    ids=["utf16-bom", "utf16be-no-bom", "utf16le-no-bom", "utf32-bom", "latin1", "binary", "cesu"],
)
def test_undecodable_input_names_file_and_line_after_writing_the_lines_before_it(
    predictor, data, bad_line, reason
):
    for batch_size in (1, 16):
        records, error = _tag_bytes(predictor, data, batch_size)
        assert error is not None and error.line == bad_line
        message = str(error)
        assert message.startswith(f"docs.txt:{bad_line}: ")
        assert reason in message
        assert f"({bad_line - 1} record" in message and error.written == bad_line - 1
        # Counts in equal counts out: exactly the lines before the bad one, in order.
        assert [r["text"] for r in records] == GOOD_LINES[: bad_line - 1]


def test_a_utf8_bom_is_skipped_and_crlf_ends_a_line(predictor):
    records, error = _tag_bytes(predictor, b"\xef\xbb\xbfColorectal cancer.\r\nSecond line.\r\n")
    assert error is None
    assert [r["text"] for r in records] == ["Colorectal cancer.", "Second line."]


def test_a_lone_carriage_return_is_text_not_a_line_end(predictor):
    data = (
        b"One colorectal\rcancer.\r\n"  # lone \r inside, then CRLF
        b"Two.\n"
        b"\r\n"  # an empty line (CRLF)
        b"Three\r\n"
        b'{"text": 1}\n'  # the 5th line, whatever \r came before it
        b"Six.\n"
    )
    records, error = _tag_bytes(predictor, data, batch_size=2)
    assert [r["text"] for r in records] == ["One colorectal\rcancer.", "Two.", "", "Three"]
    first = records[0]
    # \r is whitespace to the tokenizer: it is between tokens, never in one, offsets stay exact.
    assert [t[0] for t in first["sentences"][0]["tokens"]] == ["One", "colorectal", "cancer", "."]
    for token, start, end in first["sentences"][0]["tokens"]:
        assert first["text"][start:end] == token
    assert error is not None and str(error).startswith("docs.txt:5: A JSON input line needs")
    assert error.written == 4


@pytest.mark.parametrize(
    "line, reason",
    [
        ('{"id": 3, "text": ', "Invalid JSON input line"),
        ('{"id": 3, "text": 17}', "needs a string 'text' (found int)"),
        ('{"id": 3}', "needs a string 'text' (found none)"),
        ('{"id": [3], "text": "Colorectal cancer."}', "'id' must be a string or a number"),
        ('{"id": null, "text": "Colorectal cancer."}', "'id' must be a string or a number"),
        ('{"id": true, "text": "Colorectal cancer."}', "'id' must be a string or a number"),
    ],
)
def test_a_bad_json_line_names_its_line_and_quotes_it(predictor, line, reason):
    data = ("\n".join(GOOD_LINES) + "\n" + line + "\n" + GOOD_LINES[0] + "\n").encode()
    records, error = _tag_bytes(predictor, data)
    assert error is not None and str(error).startswith("docs.txt:3: ") and reason in str(error)
    assert line.strip()[:40] in str(error)  # the offending text is quoted
    assert [r["text"] for r in records] == GOOD_LINES


def test_ids_may_be_strings_or_numbers(predictor):
    data = b'{"id": 7, "text": "Colorectal cancer."}\n{"id": "PMID1", "text": "Colon."}\n'
    records, error = _tag_bytes(predictor, data)
    assert error is None and [r["id"] for r in records] == [7, "PMID1"]


class _FailsOn:
    """The fixture predictor, except that tagging one text raises (as a tokenizer or model bug
    would): to check that a failure inside a batch loses no other line and names its own."""

    def __init__(self, predictor, text):
        self.predictor, self.text = predictor, text

    def load_line(self, line):
        return self.predictor.load_line(line)

    def dump_line(self, output):
        return self.predictor.dump_line(output)

    def predict_json(self, document):
        return self.predict_batch_json([document])[0]

    def predict_batch_json(self, documents):
        if any(d["text"] == self.text for d in documents):
            raise TypeError("cannot tag this")
        return self.predictor.predict_batch_json(documents)


def test_a_document_that_fails_to_tag_is_named_and_the_lines_before_it_are_written(predictor):
    lines = [f"Line {i} colorectal cancer." for i in range(1, 8)]
    data = ("\n".join(lines) + "\n").encode()
    records, error = _tag_bytes(_FailsOn(predictor, lines[4]), data, batch_size=4)
    assert error is not None and str(error).startswith("docs.txt:5: TypeError: cannot tag this")
    assert isinstance(error.__cause__, TypeError)
    assert [r["text"] for r in records] == lines[:4]


def test_progress_counts_documents_written_not_lines_read(predictor):
    lines = [f"Line {i} with colorectal cancer." for i in range(1, 12)]
    progress = tqdm(total=len(lines), file=io.StringIO())
    seen = []

    class Sink(io.StringIO):
        def write(self, text):
            seen.append(progress.n)  # what the bar shows while a record is being written
            return super().write(text)

    sink = Sink()
    source = io.BytesIO(("\n".join(lines) + "\n").encode())
    written = tag_stream(predictor.predict_batch_json, source, sink, 4, "docs.txt", progress)
    assert written == progress.n == len(lines)
    # Records are counted as they are written: 0 at the first, never ahead of what was written
    # (a bar over the lines read showed a whole batch before any record was written).
    assert seen[0] == 0 and all(shown <= index for index, shown in enumerate(seen))


def test_count_lines_counts_like_the_reader():
    cases = [(b"", 0), (b"a", 1), (b"a\n", 1), (b"a\nb", 2), (b"\n\n", 2), (b"a\rb\n", 1)]
    for data, lines in cases:
        assert count_lines(io.BytesIO(data)) == lines == sum(1 for _ in io.BytesIO(data))


def test_cli_reads_stdin_and_stops_at_an_undecodable_line(fixture_runs):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    data = ("\n".join(GOOD_LINES) + "\n").encode() + "Caf\xe9.\nLast.\n".encode("latin-1")
    result = subprocess.run(
        [sys.executable, "-m", "allennlp", "bioner-tag", archive, "-", "--no-progress"],
        cwd=ROOT,
        input=data,
        capture_output=True,
        timeout=300,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert "<stdin>:3: not UTF-8" in stderr and "(2 records, one per line before it" in stderr
    assert "Traceback" not in stderr
    assert [json.loads(line)["text"] for line in result.stdout.decode().splitlines()] == GOOD_LINES


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
        (["--batch-size", "-3"], "argument --batch-size: must be at least 1, got -3"),
        (["--cuda-device", "-2"], "argument --cuda-device: must be a GPU index or -1"),
    ],
)
def test_cli_flags_are_checked_before_the_model_loads(tmp_path, flags, message):
    inputs = tmp_path / "docs.txt"
    inputs.write_text("Colorectal cancer.\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "allennlp", "bioner-tag", "no-such-archive.tar.gz", str(inputs)]
        + flags,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2 and message in result.stderr
