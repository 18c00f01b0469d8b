"""The ONNX `Tagger` on folders built by `folders.make_folder`."""

import json
import shutil

import numpy
import pytest
from folders import make_folder, reference_emissions

from hsl_bioner_runtime import Tagger
from hsl_bioner_runtime.crf import decode
from hsl_bioner_runtime.folder import ExportFolderError, load_folder

TEXTS = [
    "Mutations in the APC gene cause familial adenomatous polyposis (FAP). Breast cancer too.",
    "",
    "Cisplatin-induced nephrotoxicity in rats.",
    "x " * 40,
]


@pytest.fixture(scope="module")
def tagger(tiny_folder):
    return Tagger.load(tiny_folder)


def test_one_record_per_text_with_exact_offsets(tagger):
    records = tagger.tag(TEXTS)
    assert [r["text"] for r in records] == TEXTS
    found = 0
    for record in records:
        for entity in record["entities"]:
            assert record["text"][entity["start"] : entity["end"]] == entity["text"]
            assert entity["task"] in tagger.tasks and 0 <= entity["score"] <= 1
            found += 1
        for sentence in record["sentences"]:
            assert set(sentence["tags"]) == set(tagger.tasks)
            assert all(len(t) == len(sentence["tokens"]) for t in sentence["tags"].values())
    assert found > 0, "the seeded random weights tag some entities"
    assert records[1]["entities"] == [] and records[1]["sentences"] == []


@pytest.mark.parametrize("family, max_length", [("bert", None), ("xlnet", 9), ("bert", 6)])
def test_word_scores_are_the_graphs_arithmetic_at_first_pieces(tmp_path, family, max_length):
    # Folding (max_length 6 or 9 cuts these sentences into several segments) and padding: each
    # word is scored at its first piece of its own segment, as the numpy reference says.
    folder = make_folder(tmp_path / "f", family=family, max_length=max_length, num_layers=3)
    tagger = Tagger.load(folder)
    sentences = [
        "Mutations in the APC gene cause familial adenomatous polyposis".split(),
        ["FAP"],
        "Breast cancer and ovarian cancer".split(),
    ]
    scores, lengths = tagger.word_scores(sentences, ["disease_a"])
    batch = tagger.pieces.batch(tagger.pieces.encode_batch(sentences))
    assert (batch.row_start[-1] > len(sentences)) == (max_length is not None)
    expected = reference_emissions(
        folder, "disease_a", batch.token_ids, batch.mask.astype(int), batch.type_ids
    )
    expected = expected.reshape(-1, expected.shape[-1])[batch.word_index]
    assert lengths.tolist() == [len(s) for s in sentences]
    for i, length in enumerate(lengths):
        numpy.testing.assert_allclose(
            scores["disease_a"][i, :length], expected[i, :length], rtol=1e-4, atol=1e-4
        )


def test_a_sentence_is_tagged_alike_alone_or_in_any_batch(tmp_path):
    folder = make_folder(tmp_path / "f", max_length=8)
    sentences = [s.split() for s in ("a b c d e f g h i j", "cancer", "Breast cancer genes")]
    together = Tagger.load(folder).tag_sentences(sentences, ["disease_a", "chem_a"])
    for i, sentence in enumerate(sentences):
        alone = Tagger.load(folder).tag_sentences([sentence], ["disease_a", "chem_a"])
        for task in ("disease_a", "chem_a"):
            assert alone[task][0].tags == together[task][i].tags
            assert alone[task][0].probs == pytest.approx(together[task][i].probs, abs=1e-5)
    records = [Tagger.load(folder, batch_size=size).tag(TEXTS) for size in (1, 2, 32)]
    assert records[0] == records[1] == records[2]


def test_tasks_of_one_group_share_one_graph_call(tmp_path):
    folder = make_folder(
        tmp_path / "f",
        tasks={"a": ["Disease"], "b": ["Disease"], "c": ["Chemical"]},
        groups={"ab": ["a", "b"], "c": ["c"]},
    )
    tagger = Tagger.load(folder, tasks=["a", "b"])
    assert tagger.groups == ("ab",)  # c's graph is not even loaded
    calls = []
    session = tagger._group_sessions["ab"]

    class Counting:
        def run(self, *args, **kwargs):
            calls.append(1)
            return session.run(*args, **kwargs)

    tagger._group_sessions["ab"] = Counting()
    tagged = tagger.tag_sentences([["Breast", "cancer"], ["cancer"]], ["a", "b"])
    assert len(calls) == 1
    assert tagged["a"] == tagged["b"]


def test_selected_tasks_tag_as_with_every_task(tiny_folder):
    chem = Tagger.load(tiny_folder, tasks=["chem_a"], threads=1, merge="none").tag(TEXTS)
    every = Tagger.load(tiny_folder, merge="none").tag(TEXTS)
    for one, all_ in zip(chem, every):
        assert one["entities"] == [e for e in all_["entities"] if e["task"] == "chem_a"]
        assert [s["tags"] for s in one["sentences"]] == [
            {"chem_a": s["tags"]["chem_a"]} for s in all_["sentences"]
        ]


def test_type_ids_are_zeros_when_the_model_used_none(tmp_path):
    # XLNet gives <cls> type id 2: fed or not, the scores differ.
    kept = Tagger.load(make_folder(tmp_path / "a", family="xlnet"))
    zeroed = Tagger.load(make_folder(tmp_path / "b", family="xlnet", uses_type_ids=False))
    sentences = [["Breast", "cancer"]]
    batch = zeroed.pieces.batch(zeroed.pieces.encode_batch(sentences))
    expected = reference_emissions(
        tmp_path / "b",
        "disease_a",
        batch.token_ids,
        batch.mask.astype(int),
        numpy.zeros_like(batch.type_ids),
    ).reshape(-1, 3)[batch.word_index]
    numpy.testing.assert_allclose(
        zeroed.word_scores(sentences, ["disease_a"])[0]["disease_a"], expected, atol=1e-4
    )
    assert not numpy.allclose(
        kept.word_scores(sentences, ["disease_a"])[0]["disease_a"], expected, atol=1e-4
    )


def test_documents_keep_their_keys_and_passages(tagger):
    text = "Title about cancer. The abstract names FAP."
    document = {
        "id": "PMID:1",
        "text": text,
        "year": 2020,
        "passages": [{"offset": 0, "text": text[:19]}, {"offset": 20, "text": text[20:]}],
    }
    (record,) = tagger.tag_documents([document])
    assert record["id"] == "PMID:1" and record["year"] == 2020
    assert [s["start"] for s in record["sentences"]] == [0, 20]


def test_tags_are_the_crf_decoding_of_the_word_scores(tagger):
    sentences = [["Breast", "cancer", "genes"], ["FAP", "in", "rats"]]
    scores, lengths = tagger.word_scores(sentences, ["disease_b"])
    expected = decode(scores["disease_b"], lengths, tagger.model.crfs["disease_b"])
    assert tagger.tag_sentences(sentences, ["disease_b"])["disease_b"] == expected


def test_describe_says_what_runs(tiny_folder):
    described = Tagger.load(tiny_folder, tasks=["disease_b"], threads=2).describe()
    json.dumps(described)
    assert described["selected"] == ["disease_b"]
    assert described["tasks"]["chem_a"] == {"group": "chem_a", "types": ["Chemical"]}
    assert described["groups"]["disease_a"]["tags"] == ["O", "B-Disease", "I-Disease"]
    assert described["encoder"]["family"] == "bert" and described["precision"] == "fp32"
    assert described["threads"] == 2 and "onnx" in described["versions"]


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"tasks": ["gene_x"]}, "Unknown task.*gene_x.*this folder has disease_a"),
        ({"tasks": "chem_a"}, "list of task names"),
        ({"tasks": []}, "tasks is empty"),
        ({"tasks": ["chem_a", "chem_a"]}, "more than once"),
        ({"batch_size": 0}, "batch_size must be a whole number"),
        ({"threads": True}, "threads must be a whole number"),
        ({"merge": "union"}, "merge must be one of type, exact, none"),
    ],
)
def test_bad_arguments_are_named(tiny_folder, arguments, message):
    with pytest.raises(ValueError, match=message):
        Tagger.load(tiny_folder, **arguments)


def test_bad_input_is_named(tagger):
    with pytest.raises(TypeError, match="not one string"):
        tagger.tag("one text")
    with pytest.raises(ValueError, match="Text 1 is a int"):
        tagger.tag(["fine", 3])
    with pytest.raises(ValueError, match="string 'text'"):
        tagger.tag_documents([{"id": 1}])
    with pytest.raises(ValueError, match="not loaded"):
        Tagger.load(tagger.model.path, tasks=["chem_a"]).tag_sentences([["a"]], ["disease_a"])


def test_a_bad_folder_is_named(tiny_folder, tmp_path):
    with pytest.raises(ExportFolderError, match="no such folder"):
        Tagger.load(tmp_path / "nothing")
    broken = tmp_path / "broken"
    shutil.copytree(tiny_folder, broken)
    (broken / "group.chem_a.onnx").write_bytes(b"not a graph")
    with pytest.raises(ExportFolderError, match="group.chem_a.onnx: its SHA-256 differs"):
        Tagger.load(broken)
    with pytest.raises(ExportFolderError, match="group.chem_a.onnx: ONNX Runtime cannot load"):
        Tagger.load(broken, verify=False)
    # A group graph of the wrong calling convention: another group's shared graph in its place.
    shutil.copyfile(tiny_folder / "shared.onnx", broken / "group.chem_a.onnx")
    with pytest.raises(ExportFolderError, match="format 1 needs inputs hidden"):
        Tagger(load_folder(broken, verify=False))
