"""Tests of the ``bioner_iob`` dataset reader: formats tolerated, bad inputs rejected with the right
line, schemes, type maps, instance fields, and (when present) the real corpora."""
import itertools
import logging
import os
import pickle
import re
from pathlib import Path

import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Vocabulary
from allennlp.data.dataset_readers import DatasetReader, MultiTaskDatasetReader
from allennlp.data.fields import MetadataField, SequenceLabelField, TextField
from allennlp.data.token_indexers import SingleIdTokenIndexer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hsl_bioner.data.iob_reader import (
    IobFormatError,
    IobTaggingReader,
    read_iob_sentences,
)
from hsl_bioner_runtime.tag_schemes import TagSequenceError

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_ENV = "HSL_BIONER_DATA"
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "MTL-Bioinformatics-2016"


def write(tmp_path: Path, content: bytes, name: str = "corpus.tsv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def read(path: Path, **kwargs):
    return list(IobTaggingReader(**kwargs).read(path))


def words_and_tags(instances):
    return [
        (inst["metadata"]["words"], inst["metadata"].get("gold_tags")) for inst in instances
    ]


# --------------------------------------------------------------------------------------------
# The bad-input table: file bytes -> IobFormatError naming the right line.
# (case, file bytes, reader arguments, line number in the message, what the message says)
# --------------------------------------------------------------------------------------------

BIO = {}
IOB1 = {"input_scheme": "IOB1"}
IOBES = {"input_scheme": "IOBES"}
DEEP = b"\xef\xbb\xbf" + b"".join(
    b"w%d\tO\r\n" % i + (b"\r\n" if i % 9 == 8 else b"") for i in range(899)
)
DEEP_LINES = DEEP.count(b"\n")  # 998 lines: the bad line of the case below is line 999

BAD_INPUTS = [
    # Line structure.
    pytest.param(b"a\tO\nb O\n", BIO, 2, "no tab in the line", id="no-tab"),
    pytest.param(b"a NN O\n", BIO, 1, "no tab in the line", id="conll-space-separated"),
    pytest.param(b"x" * 500 + b"\n", BIO, 1, "no tab", id="long-line-without-tab"),
    pytest.param(b"a\tO\nb\tNN\tB-X\n", BIO, 2, "3 tab-separated columns", id="three-columns"),
    pytest.param(b"a\t\tO\n", BIO, 1, "3 tab-separated columns", id="empty-middle-column"),
    pytest.param(b"a\tO\n\tO\n", BIO, 2, "empty token", id="empty-token"),
    pytest.param(b"  \tO\n", BIO, 1, "empty token", id="whitespace-token"),
    pytest.param("\u00a0\tO\n".encode(), BIO, 1, "empty token", id="nbsp-token"),
    pytest.param(b"a\t\n", BIO, 1, "empty tag", id="empty-tag"),
    pytest.param(b"a\t  \n", BIO, 1, "empty tag", id="blank-tag"),
    pytest.param(b"a\t\t\n", BIO, 1, "empty tag", id="empty-tag-trailing-tab"),
    # Tags.
    pytest.param(b"a\tO\nb\tX-Foo\n", BIO, 2, "unknown tag 'X-Foo'", id="unknown-prefix"),
    pytest.param(b"a\tB_Foo\n", BIO, 1, "unknown tag 'B_Foo'", id="underscore-prefix"),
    pytest.param(b"a\tb-Foo\n", BIO, 1, "unknown tag", id="lower-case-prefix"),
    pytest.param(b"a\tDisease\n", BIO, 1, "unknown tag", id="bare-type"),
    pytest.param(b"a\tB-\n", BIO, 1, "empty entity type", id="empty-type"),
    pytest.param(b"a\tB-Foo Bar\n", BIO, 1, "whitespace", id="space-in-tag"),
    pytest.param(b"a\t B-Foo\n", BIO, 1, "whitespace", id="space-before-tag"),
    pytest.param(b"a\tB-X\nb\tE-X\n", BIO, 2, "unknown tag 'E-X'", id="iobes-tag-in-bio"),
    # Scheme violations: the line of the offending tag.
    pytest.param(b"a\tO\nb\tO\nc\tI-X\n", BIO, 3, "continues no entity", id="bio-i-after-o"),
    pytest.param(b"a\tI-X\n", BIO, 1, "at the start of the sentence", id="bio-i-at-start"),
    pytest.param(b"a\tB-X\nb\tI-Y\n", BIO, 2, "continues no entity", id="bio-type-change"),
    pytest.param(b"a\tB-X\n\nb\tI-X\n", BIO, 3, "at the start of the sentence",
                 id="bio-i-across-sentence-boundary"),
    pytest.param(b"a\tB-X\n-DOCSTART-\tO\nb\tI-X\n", BIO, 3, "continues no entity",
                 id="bio-i-across-docstart"),
    pytest.param(b"a\tO\n\nb\tO\nc\tB-X\nd\tO\n", IOBES, 5, "'O' cannot follow 'B-X'",
                 id="iobes-unclosed-then-o"),
    pytest.param(b"a\tO\nb\tB-X\n\nc\tO\n", IOBES, 2, "ends inside an entity",
                 id="iobes-unclosed-at-sentence-end"),
    pytest.param(b"a\tO\nb\tB-X\nc\tI-X", IOBES, 3, "ends inside an entity",
                 id="iobes-unclosed-at-file-end"),
    pytest.param(b"a\tO\nb\tE-X\n", IOBES, 2, "continues no entity", id="iobes-e-after-o"),
    pytest.param(b"a\tS-X\nb\tI-X\nc\tE-X\n", IOBES, 2, "continues no entity",
                 id="iobes-i-after-s"),
    pytest.param(b"a\tB-X\nb\tL-Y\n", IOBES, 2, "cannot follow", id="iobes-type-change"),
    pytest.param(b"a\tB-X\nb\tI-X\n", IOBES, 2, "(input_scheme is IOBES)", id="bio-read-as-iobes"),
    pytest.param(b"a\tO\nb\tB-X\n", IOB1, 2, "is the file in BIO?", id="iob1-b-after-o"),
    pytest.param(b"a\tB-X\n", IOB1, 1, "in IOB1 B- only starts", id="iob1-b-at-start"),
    pytest.param(b"a\tI-X\nb\tB-Y\n", IOB1, 2, "in IOB1 B- only starts", id="iob1-b-other-type"),
    # Encoding and binary junk.
    pytest.param(b"a\tO\ncaf\xe9\tO\n", BIO, 2, "invalid UTF-8 at byte 4", id="latin1"),
    pytest.param(b"a\tO\n\x93a\x94\tO\n", BIO, 2, "invalid UTF-8", id="cp1252-quotes"),
    pytest.param(DEEP + b"\xb5M\tO\r\n", BIO, DEEP_LINES + 1, "invalid UTF-8",
                 id="latin1-deep-after-bom-and-crlf"),
    pytest.param(DEEP + b"x\tI-X\r\n", BIO, DEEP_LINES + 1, "continues no entity",
                 id="scheme-error-deep-after-bom-and-crlf"),
    pytest.param(DEEP + b"x y\r\n", BIO, DEEP_LINES + 1, "no tab", id="no-tab-deep"),
    pytest.param(b"a\x00\tO\n", BIO, 1, "NUL byte", id="nul-byte"),
    pytest.param(b"a\tO\n\x1f\x8b\x08\x00\xff\xfe\n", BIO, 2, "invalid UTF-8 at byte 2",
                 id="gzip-junk"),
    pytest.param(b"a\tO\n\nb\x00\xff\tO\n", BIO, 3, "NUL byte", id="nul-before-bad-utf8"),
    pytest.param("a\tO\n".encode("utf-16"), BIO, 1, "UTF-16", id="utf16-with-bom"),
    pytest.param("a\tO\n".encode("utf-16-le"), BIO, 1, "NUL byte", id="utf16-without-bom"),
    pytest.param(b"a\tO\n\x01\x02\x03\tO\n", BIO, 2, "control character U+0001",
                 id="control-characters"),
    pytest.param(b"a\x0bb\tO\n", BIO, 1, "control character U+000B", id="vertical-tab"),
    pytest.param(b"a\tO\nb\x7f\tO\n", BIO, 2, "control character U+007F", id="del"),
    pytest.param(b"a\tO\rb\tO\r", BIO, 1, "carriage return inside the line",
                 id="old-mac-line-ends"),
    # Nothing to read.
    pytest.param(b"", BIO, 1, "the file has no sentences (it is empty)", id="empty-file"),
    pytest.param(b"\n \n\t\n", BIO, 3, "the file has no sentences", id="only-blank-lines"),
    pytest.param(b"\xef\xbb\xbf", BIO, 1, "the file has no sentences", id="only-bom"),
    pytest.param(b"-DOCSTART-\tO\n\n", BIO, 2, "the file has no sentences", id="only-docstart"),
]


@pytest.mark.parametrize("content, kwargs, line_number, problem", BAD_INPUTS)
def test_bad_input(tmp_path, content, kwargs, line_number, problem):
    path = write(tmp_path, content)
    with pytest.raises(IobFormatError) as caught:
        read(path, **kwargs)
    error = caught.value
    message = str(error)
    assert isinstance(error, ValueError)
    assert message.startswith(f"{path}:{line_number}: "), message
    assert problem in message
    assert (error.path, error.line_number) == (str(path), line_number)
    if error.line is not None:  # the offending line, quoted and shortened
        shown = re.search(r': "(.*)"$', message).group(1)
        assert len(shown) <= 80
        assert "\n" not in message
    else:  # nothing to quote
        assert "no sentences" in message or "UTF-16" in message


def test_offending_line_is_quoted_and_shortened(tmp_path):
    path = write(tmp_path, b"a\tO\n" + b"word " * 100 + b"\n")
    with pytest.raises(IobFormatError) as caught:
        read(path)
    message = str(caught.value)
    assert message.endswith('"' + ("word " * 16)[:77] + '..."')
    assert len(re.search(r': "(.*)"$', message).group(1)) == 80


def test_offending_line_of_scheme_error_is_shown(tmp_path):
    path = write(tmp_path, b"a\tO\nb\tI-Disease \t\n")
    with pytest.raises(IobFormatError, match=r':2: .*: "b\\tI-Disease"$'):
        read(path)


def test_control_characters_are_escaped_in_message(tmp_path):
    path = write(tmp_path, b"a\x01b\tO\n")
    with pytest.raises(IobFormatError, match=r'"a\\x01b\\tO"$'):
        read(path)


def test_iob_format_error_pickles(tmp_path):
    error = IobFormatError("x.tsv", 3, "empty tag", "a\t")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) == 'x.tsv:3: empty tag: "a\\t"'
    assert (copy.path, copy.line_number, copy.line) == ("x.tsv", 3, "a\t")


def test_errors_come_lazily_after_the_good_sentences(tmp_path):
    path = write(tmp_path, b"a\tO\n\nb\tO\n\nc d\n")
    instances = IobTaggingReader().read(path)
    assert [i["metadata"]["words"] for i in itertools.islice(instances, 2)] == [["a"], ["b"]]
    with pytest.raises(IobFormatError, match=":5: no tab"):
        next(iter(instances))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read(tmp_path / "nope.tsv")


# --------------------------------------------------------------------------------------------
# The repair table: input the reader accepts, and what it makes of it.
# (case, file bytes, expected [(words, tags)], number of empty sentences skipped)
# --------------------------------------------------------------------------------------------

REPAIRS = [
    pytest.param(b"\xef\xbb\xbfa\tB-X\n", [(["a"], ["B-X"])], 0, id="utf8-bom-dropped"),
    pytest.param(b"a\tB-X\r\nb\tI-X\r\n\r\nc\tO\r\n",
                 [(["a", "b"], ["B-X", "I-X"]), (["c"], ["O"])], 0, id="crlf"),
    pytest.param(b"\xef\xbb\xbfa\tO\r\nb\tO", [(["a", "b"], ["O", "O"])], 0,
                 id="bom-crlf-no-final-newline"),
    pytest.param(b"a\tO  \nb\tB-X \t \nc\tI-X\t\n", [(["a", "b", "c"], ["O", "B-X", "I-X"])], 0,
                 id="trailing-spaces-and-tabs-after-tag"),
    pytest.param(b"a\tO\n \t \nb\tO\n", [(["a"], ["O"]), (["b"], ["O"])], 0,
                 id="whitespace-only-line-is-boundary"),
    pytest.param(b"a\tO\n\t\nb\tO\n", [(["a"], ["O"]), (["b"], ["O"])], 0,
                 id="tab-only-line-is-boundary"),
    pytest.param(b"-DOCSTART-\tO\n\na\tO\n", [(["a"], ["O"])], 0, id="docstart-with-tag"),
    pytest.param(b"-DOCSTART-\na\tO\n", [(["a"], ["O"])], 0, id="docstart-alone"),
    pytest.param(b"-DOCSTART- -X- -X- O\n\na\tO\n", [(["a"], ["O"])], 0,
                 id="docstart-conll-style"),
    pytest.param(b"-DOCSTART-\tO\textra\na\tO\n", [(["a"], ["O"])], 0,
                 id="docstart-with-extra-columns"),
    pytest.param(b"a\tO\n-DOCSTART-\tO\nb\tO\n", [(["a"], ["O"]), (["b"], ["O"])], 0,
                 id="docstart-mid-sentence-is-boundary"),
    pytest.param(b"a\tO\nb\tO", [(["a", "b"], ["O", "O"])], 0, id="no-final-newline"),
    pytest.param(b"a\tO\nb\tO\n", [(["a", "b"], ["O", "O"])], 0, id="no-final-blank-line"),
    pytest.param(b"\n\na\tO\n\n\n\nb\tO\n\n\n", [(["a"], ["O"]), (["b"], ["O"])], 5,
                 id="empty-sentences-skipped"),
    pytest.param("Na+\tO\nIL-2\tB-Protein\n\u03b1-Syn\tI-Protein\nA B\tO\n O \tO\nB-X\tO\n"
                 .encode(),
                 [(["Na+", "IL-2", "\u03b1-Syn", "A B", " O ", "B-X"],
                   ["O", "B-Protein", "I-Protein", "O", "O", "O"])], 0,
                 id="tokens-kept-exactly"),
    pytest.param(b"-DOCSTART-x\tO\n", [(["-DOCSTART-x"], ["O"])], 0,
                 id="docstart-prefix-is-a-token"),
]


@pytest.mark.parametrize("content, expected, empty", REPAIRS)
def test_repair(tmp_path, caplog, content, expected, empty):
    path = write(tmp_path, content)
    with caplog.at_level(logging.INFO, logger="hsl_bioner.data.iob_reader"):
        instances = read(path)
    assert words_and_tags(instances) == expected
    summary = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    tokens = sum(len(words) for words, _ in expected)
    docstarts = sum(1 for line in content.splitlines() if line.startswith(b"-DOCSTART-"))
    docstarts -= content.count(b"-DOCSTART-x")  # a token, not a marker
    assert summary == [
        f"Read {len(expected)} sentences ({tokens} tokens) from {path}; skipped {empty} empty "
        f"sentences and {docstarts} -DOCSTART- lines"
    ]


def test_source_points_at_first_line_of_each_sentence(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf-DOCSTART-\tO\r\n\r\na\tO\r\nb\tO\r\n\r\n\r\nc\tO")
    assert [i["metadata"]["source"] for i in read(path)] == [f"{path}:3", f"{path}:7"]


def test_long_sentence_is_kept_whole(tmp_path):
    n = 5000
    tags = ["B-X" if i % 3 == 0 else "I-X" if i % 3 == 1 else "O" for i in range(n)]
    content = "".join(f"tok{i}\t{tag}\n" for i, tag in enumerate(tags)).encode()
    (instance,) = read(write(tmp_path, content))
    assert len(instance["tokens"]) == n
    assert [t.text for t in instance["tokens"].tokens] == [f"tok{i}" for i in range(n)]
    assert instance["tags"].labels == tags
    assert len(instance["metadata"]["words"]) == n


# --------------------------------------------------------------------------------------------
# Schemes and type maps
# --------------------------------------------------------------------------------------------

SCHEME_FILES = {
    "IOB1": b"a\tI-X\nb\tI-X\nc\tB-X\nd\tO\ne\tI-Y\n",
    "BIO": b"a\tB-X\nb\tI-X\nc\tB-X\nd\tO\ne\tB-Y\n",
    "IOBES": b"a\tB-X\nb\tE-X\nc\tS-X\nd\tO\ne\tS-Y\n",
    "BIOUL": b"a\tB-X\nb\tL-X\nc\tU-X\nd\tO\ne\tU-Y\n",
}
EXPECTED = {
    "BIO": ["B-X", "I-X", "B-X", "O", "B-Y"],
    "BIOUL": ["B-X", "L-X", "U-X", "O", "U-Y"],
}


@pytest.mark.parametrize("coding_scheme", sorted(EXPECTED))
@pytest.mark.parametrize(
    "file_scheme, input_scheme",
    [("IOB1", "IOB1"), ("BIO", "BIO"), ("BIO", "IOB2"), ("IOBES", "IOBES"),
     ("BIOUL", "IOBES"), ("BIOUL", "BIOUL"), ("IOBES", "BIOUL")],
)
def test_schemes_are_read_and_converted(tmp_path, file_scheme, input_scheme, coding_scheme):
    path = write(tmp_path, SCHEME_FILES[file_scheme])
    (instance,) = read(path, input_scheme=input_scheme, coding_scheme=coding_scheme)
    assert instance["tags"].labels == EXPECTED[coding_scheme]
    assert instance["metadata"]["gold_tags"] == EXPECTED[coding_scheme]


def test_type_map_merges_and_drops(tmp_path):
    content = b"a\tB-CHEBI\nb\tB-Simple_chemical\nc\tI-Simple_chemical\nd\tB-Cell\ne\tB-GGP\n"
    type_map = {"CHEBI": "Chemical", "Simple_chemical": "Chemical", "Cell": "O"}
    (instance,) = read(write(tmp_path, content), type_map=type_map, coding_scheme="BIOUL")
    assert instance["tags"].labels == ["U-Chemical", "B-Chemical", "L-Chemical", "O", "U-GGP"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_scheme": "IOB3"}, "Unknown tag scheme"),
        ({"coding_scheme": "IOBES"}, "coding_scheme must be one of BIO, BIOUL"),
        ({"coding_scheme": "IOB1"}, "coding_scheme must be one of BIO, BIOUL"),
        ({"type_map": {"X": "A B"}}, "type_map"),
        ({"task": ""}, "task must be a non-empty string"),
    ],
)
def test_bad_configuration(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        IobTaggingReader(**kwargs)


# --------------------------------------------------------------------------------------------
# Instances
# --------------------------------------------------------------------------------------------


def test_instance_fields(tmp_path):
    path = write(tmp_path, b"Aspirin\tB-Chemical\nworks\tO\n")
    reader = IobTaggingReader(label_namespace="chemical_labels")
    (instance,) = list(reader.read(path))
    assert set(instance.fields) == {"tokens", "tags", "metadata"}
    assert isinstance(instance["tokens"], TextField)
    assert [t.text for t in instance["tokens"].tokens] == ["Aspirin", "works"]
    assert isinstance(instance["tags"], SequenceLabelField)
    assert instance["tags"]._label_namespace == "chemical_labels"
    assert instance["metadata"].metadata == {
        "words": ["Aspirin", "works"],
        "gold_tags": ["B-Chemical", "O"],
        "source": f"{path}:1",
    }
    # read() applied the token indexers, so the instance can be indexed and tensorised.
    vocab = Vocabulary.from_instances([instance])
    assert vocab.get_token_index("B-Chemical", "chemical_labels") >= 0
    instance.index_fields(vocab)
    tensors = instance.as_tensor_dict()
    assert tensors["tokens"]["tokens"]["tokens"].shape == (2,)
    assert tensors["tags"].shape == (2,)


def test_text_to_instance_without_tags_and_indexers_applied_separately():
    reader = IobTaggingReader()
    instance = reader.text_to_instance(["Aspirin", "works"])
    assert set(instance.fields) == {"tokens", "metadata"}
    assert instance["metadata"].metadata == {"words": ["Aspirin", "works"]}
    assert instance["tokens"]._token_indexers is None  # as in AllenNLP 2.x
    reader.apply_token_indexers(instance)
    assert isinstance(instance["tokens"]._token_indexers["tokens"], SingleIdTokenIndexer)


def test_text_to_instance_converts_tags():
    reader = IobTaggingReader(input_scheme="IOB1", coding_scheme="BIOUL", type_map={"X": "Y"})
    instance = reader.text_to_instance(["a", "b", "c"], ["I-X", "I-X", "O"], source="s:1")
    assert instance["tags"].labels == ["B-Y", "L-Y", "O"]
    assert instance["metadata"]["source"] == "s:1"


@pytest.mark.parametrize(
    "words, tags, error, message",
    [
        ([], None, ValueError, "at least one word"),
        (["a", ""], None, ValueError, "non-empty strings"),
        (["a", "b"], ["O"], ValueError, "1 tags for 2 words"),
        (["a"], ["I-X"], TagSequenceError, "continues no entity"),
    ],
)
def test_text_to_instance_rejects(words, tags, error, message):
    with pytest.raises(error, match=message):
        IobTaggingReader().text_to_instance(words, tags)


def test_task_field(tmp_path):
    path = write(tmp_path, b"a\tB-Disease\n")
    (instance,) = read(path, task="ncbi_disease")
    assert isinstance(instance["task"], MetadataField)
    assert instance["task"].metadata == "ncbi_disease"
    assert IobTaggingReader(task="t").text_to_instance(["a"])["task"].metadata == "t"
    assert "task" not in read(path)[0].fields


def test_task_field_agrees_with_multitask_reader(tmp_path):
    path = write(tmp_path, b"a\tB-Disease\n")
    inner = IobTaggingReader(task="ncbi")
    multi = MultiTaskDatasetReader({"ncbi": inner})
    (instance,) = list(multi.readers["ncbi"].read(path))
    (alone,) = list(inner.read(path))
    assert instance["task"].metadata == alone["task"].metadata == "ncbi"


def test_registered_and_built_from_config(tmp_path):
    assert DatasetReader.by_name("bioner_iob") is IobTaggingReader
    reader = DatasetReader.from_params(
        Params(
            {
                "type": "bioner_iob",
                "input_scheme": "IOB2",
                "coding_scheme": "BIOUL",
                "type_map": {"Simple_chemical": "Chemical"},
                "label_namespace": "chemical_labels",
                "task": "chem",
                "max_instances": 1,
            }
        )
    )
    assert isinstance(reader, IobTaggingReader)
    path = write(tmp_path, b"a\tB-Simple_chemical\n\nb\tO\n")
    (instance,) = list(reader.read(path))
    assert instance["tags"].labels == ["U-Chemical"]
    assert instance["task"].metadata == "chem"


# --------------------------------------------------------------------------------------------
# Property: write random sentences, read them back unchanged.
# --------------------------------------------------------------------------------------------

# Tokens: any text without whitespace, tabs, line ends or control characters (Cc); surrogates
# cannot be written as UTF-8; U+FEFF at the very start of a file would be read as a BOM.
TOKEN = st.text(
    st.characters(
        blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), blacklist_characters="\ufeff"
    ),
    min_size=1,
    max_size=8,
).filter(lambda token: not token.isspace() and token.split()[0] != "-DOCSTART-")


@st.composite
def bio_sentence(draw):
    words = draw(st.lists(TOKEN, min_size=1, max_size=12))
    tags, previous_type = [], None
    for _ in words:
        choices = ["O", "B-Disease", "B-Gene_or_gene_product", "B-X-Y"]
        if previous_type is not None:
            choices.append(f"I-{previous_type}")
        tag = draw(st.sampled_from(choices))
        tags.append(tag)
        previous_type = None if tag == "O" else tag[2:]
    return words, tags


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(bio_sentence(), min_size=1, max_size=5), st.booleans(), st.booleans())
def test_round_trip(tmp_path, sentences, crlf, final_blank_line):
    newline = "\r\n" if crlf else "\n"
    text = (newline * 2).join(
        newline.join(f"{w}\t{t}" for w, t in zip(words, tags)) for words, tags in sentences
    )
    if final_blank_line:
        text += newline * 2
    path = write(tmp_path, text.encode("utf-8"))
    assert words_and_tags(read(path)) == [(words, tags) for words, tags in sentences]


def expected_tokens(content: bytes):
    """Oracle for the fuzz test: the tokens of a file that the reader accepts."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    tokens = []
    for raw in content.split(b"\n"):
        line = raw.decode("utf-8")
        line = line[:-1] if line.endswith("\r") else line
        if line.strip() and line.split()[0] != "-DOCSTART-":
            tokens.append(line.split("\t")[0])
    return tokens


FUZZ_LINE = st.one_of(
    st.tuples(
        st.sampled_from([b"a", b"A b", b" a", b"b ", b"\xce\xb1", b"-DOCSTART-", b"", b" ",
                         b"\xe9", b"a\x00", b"a\x01", b"\xef\xbb\xbf"]),
        st.sampled_from([b"\t", b"\t", b"\t", b" ", b"\t\t"]),
        st.sampled_from([b"O", b"O", b"B-X", b"I-X", b"B-Y", b"I-Y", b"X-Y", b"B-", b""]),
        st.sampled_from([b"", b"", b" ", b"\t", b"\r"]),
        st.sampled_from([b"\n", b"\n", b"\r\n", b""]),
    ).map(b"".join),
    st.sampled_from([b"\n", b"\r\n", b" \n", b"\t\n", b"-DOCSTART-\n", b"-DOCSTART- O\n"]),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(FUZZ_LINE, max_size=25).map(b"".join))
def test_fuzz_either_reads_every_token_or_raises_iob_format_error(tmp_path, content):
    path = write(tmp_path, content)
    try:
        instances = read(path)
    except IobFormatError as error:
        assert str(error).startswith(f"{path}:{error.line_number}: ")
        assert 1 <= error.line_number <= content.count(b"\n") + 1
        return
    words = [word for instance in instances for word in instance["metadata"]["words"]]
    assert words == expected_tokens(content)


# --------------------------------------------------------------------------------------------
# Real corpora and the repository's fixtures
# --------------------------------------------------------------------------------------------


def data_root() -> Path:
    root = Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else DEFAULT_DATA
    if not root.is_dir():
        pytest.skip(
            f"No corpus folder at {root}: set {DATA_ENV} to the MTL-Bioinformatics-2016 folder "
            "(default ../shared/data/MTL-Bioinformatics-2016 from the repository root)"
        )
    return root


def test_real_corpora_train_files():
    root = data_root()
    train_files = sorted(root.glob("*/train.tsv"))
    if not train_files:
        pytest.skip(f"No */train.tsv under {root} ({DATA_ENV})")
    for path in train_files:
        sentences = tokens = 0
        for sentence in read_iob_sentences(path):
            sentences += 1
            tokens += len(sentence.words)
            assert len(sentence.words) == len(sentence.tags)
        assert sentences > 0 and tokens > 0, path


def test_real_ncbi_disease_keeps_every_token():
    path = data_root() / "NCBI-disease-IOB" / "train.tsv"
    if not path.is_file():
        pytest.skip(f"No {path} ({DATA_ENV})")
    instances = read(path)
    with open(path, encoding="utf-8") as data:
        non_blank = sum(1 for line in data if line.strip())
    assert len(instances) > 0
    assert sum(len(i["tokens"]) for i in instances) == non_blank
    labels = {tag for i in instances for tag in i["tags"].labels}
    assert labels == {"O", "B-Disease", "I-Disease"}


def test_repository_fixture_corpora_are_valid():
    files = sorted((REPO_ROOT / "fixtures" / "data").glob("*/*.tsv"))
    if not files:
        pytest.skip("no fixture corpora in fixtures/data")
    for path in files:
        assert sum(1 for _ in read_iob_sentences(path)) > 0, path


def test_groups_put_a_tasks_tags_in_its_groups_namespace():
    groups = {"disease": ["ncbi", "bc5cdr"]}
    assert IobTaggingReader(task="ncbi", groups=groups).label_namespace == "disease_labels"
    assert IobTaggingReader(task="other", groups=groups).label_namespace == "other_labels"
    instance = IobTaggingReader(task="bc5cdr", groups=groups).text_to_instance(["a"], ["B-X"])
    assert instance["tags"]._label_namespace == "disease_labels"
    with pytest.raises(ConfigurationError, match="groups needs task"):
        IobTaggingReader(groups=groups)
    with pytest.raises(ConfigurationError, match="replaces label_namespace"):
        IobTaggingReader(task="ncbi", groups=groups, label_namespace="x_labels")
