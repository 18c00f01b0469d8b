import json
import time

import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hsl_bioner_runtime.text import is_separator
from tests.conftest import run_allennlp


@pytest.fixture(scope="module")
def predictor(fixture_runs):
    return Predictor.from_path(str(fixture_runs["mtl_ls"] / "model.tar.gz"), "bioner")


def _check_document(text, result, tasks=("disease_a", "disease_b")):
    assert result["text"] == text
    for entity in result["entities"]:
        assert text[entity["start"] : entity["end"]] == entity["text"]
        assert (
            entity["text"] and not entity["text"][0].isspace() and not entity["text"][-1].isspace()
        )
        assert 0.0 <= entity["score"] <= 1.0
    covered = []
    for sentence in result["sentences"]:
        assert set(sentence["tags"]) == set(tasks)
        for token, start, end in sentence["tokens"]:
            assert text[start:end] == token
            covered.append((start, end))
        for tags in sentence["tags"].values():
            assert len(tags) == len(sentence["tokens"])  # every token gets a prediction
    # Every character of the input that is not a separator (whitespace, control) is in one token.
    assert "".join(text[s:e] for s, e in covered) == "".join(c for c in text if not is_separator(c))


def test_python_api_returns_entities_with_offsets(predictor):
    text = "Mutations in p53 predispose to familial adenomatous polyposis (FAP) and breast cancer."
    result = predictor.predict(text)
    _check_document(text, result)
    assert result["entities"], "the fixture model finds disease names in fixture-like text"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=300))
# Words without word pieces (issue 12 item 1): once found only by a random draw.
@example("\U00016f51")
@example("\U00016f51 \U00016f51")
def test_offsets_are_exact_on_random_unicode_text(predictor, text):
    _check_document(text, predictor.predict(text))


@pytest.mark.parametrize(
    "text",
    ["lone \ud800 colorectal cancer", "reversed \udc00\ud800 pair", "\udfff", "a\ud800b"],
    ids=["lone-high", "reversed-pair", "lone-low-alone", "inside-a-word"],
)
def test_lone_surrogates_are_tagged_with_exact_offsets(predictor, text):
    # Issue 12 item 2: surrogates cannot reach the Rust tokenizer; the word keeps its text and
    # offsets, its pieces are those of U+FFFD.
    result = predictor.predict_json({"text": text})
    _check_document(text, result)
    tokens = [token for sentence in result["sentences"] for token, _, _ in sentence["tokens"]]
    assert any("\ud800" <= c <= "\udfff" for token in tokens for c in token)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \t  ",
        "\u00a0\u2009\u3000",
        "IL\u20112 and TNF\u2013\u03b1 (5 \u00b1 2 \u00b5g/ml) in \u03b2-thalassaemia.",
        "control\x00chars\x07 in\x1b[31m a \x0c sentence",
        "x" * 5000,
        "Dr. Smith et al. gave 5.2 mg i.v. to E. coli infected mice. Then colorectal cancer grew.",
    ],
    ids=[
        "empty",
        "blank",
        "unicode-spaces",
        "greek-and-symbols",
        "control",
        "long-token",
        "abbrev",
    ],
)
def test_odd_input_does_not_crash_and_keeps_every_character(predictor, text):
    _check_document(text, predictor.predict(text))


def test_a_long_single_line_document_is_tagged_in_bounded_batches(predictor):
    sentence = "Patients with colorectal cancer and Alzheimer 's disease were followed up . "
    text = sentence * 2000  # ~150 KB on one line, 24,000 tokens
    started = time.perf_counter()
    result = predictor.predict(text)
    _check_document(text, result)
    assert len(result["sentences"]) >= 2000 // 4
    assert time.perf_counter() - started < 120


def test_task_selection_and_merge_rules(fixture_runs):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    one = Predictor.from_path(archive, "bioner", tasks=["disease_b"])
    text = "Familial adenomatous polyposis and colorectal cancer run in families."
    result = one.predict(text)
    _check_document(text, result, tasks=("disease_b",))
    assert {e["task"] for e in result["entities"]} <= {"disease_b"}
    with pytest.raises(ConfigurationError, match="Unknown task"):
        Predictor.from_path(archive, "bioner", tasks=["nope"])
    with pytest.raises(ConfigurationError, match="merge must be one of"):
        Predictor.from_path(archive, "bioner", merge="some")


def test_output_formats_through_the_cli(fixture_runs, tmp_path):
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    inputs = tmp_path / "docs.jsonl"
    inputs.write_text(
        json.dumps({"id": "PMID1", "text": "Colorectal cancer is common."})
        + "\n"
        + json.dumps({"id": "PMID2", "text": "Alzheimer's disease | dementia."})
        + "\n"
    )
    outputs = {}
    for output_format in ("json", "conll", "pubtator"):
        path = tmp_path / f"out.{output_format}"
        run_allennlp(
            [
                "predict",
                archive,
                str(inputs),
                "--predictor",
                "bioner",
                "--silent",
                "--output-file",
                str(path),
                "--predictor-args",
                json.dumps({"output_format": output_format}),
            ]
        )
        outputs[output_format] = path.read_text(encoding="utf-8")
    documents = [json.loads(line) for line in outputs["json"].splitlines()]
    assert [d["id"] for d in documents] == ["PMID1", "PMID2"]
    # Each CoNLL document starts with its "# newdoc id = ..." line (issue 12), then the tokens.
    conll_lines = outputs["conll"].splitlines()
    assert [line for line in conll_lines if line.startswith("# newdoc id = ")] == [
        "# newdoc id = PMID1",
        "# newdoc id = PMID2",
    ]
    conll = [line.split("\t") for line in conll_lines if line and not line.startswith("# newdoc")]
    assert conll[0][:3] == ["Colorectal", "0", "10"] and len(conll[0]) == 5  # 2 task columns
    pubtator = outputs["pubtator"].split("\n\n")
    assert pubtator[0].startswith("PMID1|t|Colorectal cancer is common.")
    for block, document in zip(pubtator, documents):
        # Title and abstract lines (the abstract is empty: one-line texts), then the entities.
        assert block.splitlines()[1] == f"{document['id']}|a|"
        entity_lines = block.strip().splitlines()[2:]
        assert len(entity_lines) == len(document["entities"])
        for line, entity in zip(entity_lines, document["entities"]):
            doc_id, start, end, mention, type_, task = line.split("\t")
            assert (int(start), int(end), mention) == (
                entity["start"],
                entity["end"],
                entity["text"],
            )


def test_documents_without_an_id_are_numbered_in_pubtator_and_conll(fixture_runs):
    """Issue 12: every document without an id was written as PubTator id "0", and CoNLL output
    had no document boundaries; the predictor now numbers the records it dumps."""
    archive = str(fixture_runs["mtl_ls"] / "model.tar.gz")
    documents = [
        {"text": "Colorectal cancer is common."},
        {"text": ""},
        # (Lone surrogates reach the encoder's tokenizer here: the core's tests cover them.)
        {"id": "P|1", "text": "APC\tmutations\r\nin | colorectal cancer."},
        {"text": "Breast cancer."},
    ]
    for output_format, marker in (("pubtator", "|t|"), ("conll", "# newdoc id = ")):
        predictor = Predictor.from_path(archive, "bioner", output_format=output_format)
        outputs = predictor.predict_batch_json(documents)
        written = "".join(predictor.dump_line(output) for output in outputs)
        assert "\r" not in written
        lines = [line for line in written.split("\n") if marker in line]
        ids = [line.replace("# newdoc id = ", "").split("|t|")[0] for line in lines]
        assert ids == ["1", "2", "P%7C1", "4"], output_format


@pytest.fixture(scope="module")
def archive(fixture_runs):
    return load_archive(str(fixture_runs["mtl_ls"] / "model.tar.gz"))


@pytest.mark.parametrize(
    "args, message",
    [
        # a string would be read as the list of its characters
        ({"tasks": "disease_a"}, "tasks must be a list of task names"),
        ({"tasks": []}, "tasks is empty"),
        ({"tasks": ["disease_a", "disease_a"]}, "tasks names disease_a more than once"),
        ({"tasks": [3]}, "tasks must be task names"),
        ({"tasks": ["nope"]}, "Unknown task"),
        ({"max_sentences_per_batch": -1}, "max_sentences_per_batch must be a whole number"),
        ({"max_sentences_per_batch": 0}, "max_sentences_per_batch must be a whole number"),
        ({"max_sentences_per_batch": 2.5}, "max_sentences_per_batch must be a whole number"),
        ({"max_sentences_per_batch": "8"}, "max_sentences_per_batch must be a whole number"),
        ({"max_sentences_per_batch": True}, "max_sentences_per_batch must be a whole number"),
        ({"merge": "some"}, "merge must be one of type, exact, none, got 'some'"),
        ({"merge": None}, "merge must be one of"),
        ({"output_format": "xml"}, "output_format must be one of json, conll, pubtator"),
        ({"output_format": ["json"]}, "output_format must be one of"),
        ({"int8": "false"}, "int8 must be true or false, got 'false'"),
        ({"int8": 1}, "int8 must be true or false"),
        ({"frozen": "yes"}, "frozen must be true or false"),
        # the encoder has 4 layers: 99 used to wrap silently to layer 3
        ({"int8": True, "int8_fp32_layers": [99]}, "int8_fp32_layers: layer 99 does not exist"),
        ({"int8": True, "int8_fp32_layers": [-5]}, "int8_fp32_layers: layer -5 does not exist"),
        ({"int8": True, "int8_fp32_layers": ["0"]}, "int8_fp32_layers must hold whole layer"),
        ({"int8": True, "int8_fp32_layers": [1.0]}, "int8_fp32_layers must hold whole layer"),
        ({"int8": True, "int8_fp32_layers": 0}, "int8_fp32_layers must be a list"),
        ({"int8_fp32_layers": [0]}, "int8_fp32_layers only applies with int8: true"),
    ],
)
def test_every_predictor_argument_is_checked(archive, args, message):
    with pytest.raises(ConfigurationError) as raised:
        Predictor.from_archive(archive, "bioner", extra_args=args)
    assert message in str(raised.value)


def test_valid_arguments_are_accepted(archive):
    predictor = Predictor.from_archive(
        archive,
        "bioner",
        extra_args={"tasks": ("disease_b",), "max_sentences_per_batch": 1, "merge": "none"},
    )
    result = predictor.predict("Colorectal cancer. Alzheimer's disease. Breast cancer.")
    assert len(result["sentences"]) == 3
    assert all(len(s["tags"]["disease_b"]) == len(s["tokens"]) for s in result["sentences"])


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"text": 17}', "needs a string 'text' (found int)"),
        ('{"text": null, "id": 1}', "needs a string 'text' (found NoneType)"),
        ('{"text": ["a"]}', "needs a string 'text' (found list)"),
        ('{"text": "a", "id": {"pmid": 1}}', "'id' must be a string or a number (found dict)"),
        ('{"text": "a", "id": false}', "'id' must be a string or a number (found bool)"),
        ('{"text": "a"', "Invalid JSON input line"),
    ],
)
def test_load_line_rejects_bad_json_quoting_it(predictor, line, message):
    with pytest.raises(ValueError) as raised:
        predictor.load_line(line + "\n")
    assert message in str(raised.value) and line[:30] in str(raised.value)


def test_load_line_strips_only_the_line_end(predictor):
    assert predictor.load_line("a\rb \r\n") == {"text": "a\rb "}
    assert predictor.load_line("a\rb\n") == {"text": "a\rb"}
    assert predictor.load_line("  text\r") == {"text": "  text\r"}  # a lone \r is text
    assert predictor.load_line('{"id": 5, "text": "x"}\n') == {"id": 5, "text": "x"}
