"""The exported graphs compute the torch model's emission scores (docs/export_format.md), for both
encoder families, one group with k = n and several groups with k < n, folded long sentences."""
import itertools
import json

import numpy
import onnxruntime
import pytest
import torch
from allennlp.data import Batch
from allennlp.models.archival import load_archive
from tokenizers import Tokenizer

from hsl_bioner.data.iob_reader import read_iob_sentences
from hsl_bioner.export.folder import piece_encoder, write_folder
from hsl_bioner_runtime.folder import load_folder
from hsl_bioner_runtime.pieces import PieceEncoder
from tests.conftest import FIXTURES

WORDS = [
    s.words for s in itertools.islice(read_iob_sentences(FIXTURES / "data/disease_a/test.tsv"), 5)
]
# Longer than the fixtures' max_length of 64 pieces (folded), and a word without pieces.
SENTENCES = [*WORDS, [w for s in WORDS for w in s] * 2, ["A", "\u200b", "case", "."]]


@pytest.fixture(scope="module")
def exports(fixture_runs, tiny_bert_runs, tmp_path_factory):
    """name -> (the archive's torch model and reader, its exported folder)."""
    runs = {
        "xlnet_stl": fixture_runs["stl"],
        "xlnet_mtl_ls": fixture_runs["mtl_ls"],
        "bert_stl": tiny_bert_runs["stl"],
        "bert_mtl_ls": tiny_bert_runs["mtl_ls"],
    }
    found = {}
    for name, run in runs.items():
        archive_file = str(run / "model.tar.gz")
        archive = load_archive(archive_file)
        folder = tmp_path_factory.mktemp(name)
        pieces = piece_encoder(archive.dataset_reader, archive_file)
        write_folder(archive.model, pieces, archive.model.tasks, folder, archive_file)
        found[name] = archive, folder
    return found


def _torch_emissions(archive, group):
    model = archive.model
    reader = archive.dataset_reader.readers[model.tasks[0]]
    instances = []
    for words in SENTENCES:
        instance = reader.text_to_instance(words)
        reader.apply_token_indexers(instance)
        instance.index_fields(model.vocab)
        instances.append(instance)
    tensors = Batch(instances).as_tensor_dict()
    with torch.no_grad():
        return model.emissions(tensors["tokens"], {group: None})[group].numpy()


def _onnx_emissions(folder, group):
    exported = load_folder(folder)
    pieces = PieceEncoder(
        Tokenizer.from_file(str(exported.tokenizer)), exported.special_tokens, exported.max_length
    )
    batch = pieces.batch(pieces.encode_batch(SENTENCES))
    feed = {
        "input_ids": batch.token_ids,
        "attention_mask": batch.mask.astype(numpy.int64),
        "token_type_ids": batch.type_ids,
    }
    shared = onnxruntime.InferenceSession(str(exported.shared_graph))
    (hidden,) = shared.run(["hidden"], feed)
    graph = onnxruntime.InferenceSession(str(exported.group_graphs[group]))
    del feed["input_ids"]
    (emissions,) = graph.run(["emissions"], {**feed, "hidden": hidden})
    return emissions.reshape(-1, emissions.shape[-1])[batch.word_index], batch


@pytest.mark.parametrize("name", ["xlnet_stl", "xlnet_mtl_ls", "bert_stl", "bert_mtl_ls"])
def test_onnx_emissions_equal_the_torch_models(exports, name):
    archive, folder = exports[name]
    model = archive.model
    split = model.embedder.split
    if name.endswith("mtl_ls"):  # the case this test is about: several upper stacks
        assert len(model.groups) > 1 and split.shared_layers < split.num_layers
    for group in model.groups:
        expected = _torch_emissions(archive, group)
        got, batch = _onnx_emissions(folder, group)
        assert got.shape == expected.shape
        # Padding words are compared out: torch projects zero vectors there.
        real = batch.word_mask
        assert numpy.abs(got[real] - expected[real]).max() < 1e-4, (name, group)
    assert batch.token_ids.shape[0] > len(SENTENCES)  # the long sentence was folded


@pytest.mark.parametrize("name", ["xlnet_mtl_ls", "bert_stl"])
def test_the_folder_describes_the_model(exports, name):
    archive, folder = exports[name]
    model = archive.model
    split = model.embedder.split
    exported = load_folder(folder)
    encoder = exported.encoder
    assert encoder["family"] == name.split("_")[0]
    assert (encoder["num_layers"], encoder["shared_layers"]) == (
        split.num_layers,
        split.shared_layers,
    )
    assert encoder["max_length"] == exported.max_length == model.embedder.max_length == 64
    # XLNet's <cls> has type id 2, so type ids reach the encoder; BERT's are all 0.
    assert encoder["uses_type_ids"] is (name.startswith("xlnet"))
    assert exported.group_of_task == model.group_of_task
    assert exported.label_encoding == model.label_encoding
    assert exported.precision == "fp32" and exported.config["int8"] is None
    for group in model.groups:
        expected = model.heads[group].crf.decoding_parameters()
        got = exported.crfs[group]
        assert got.tags == expected.tags
        for array in ("transitions", "start", "end", "allowed"):
            numpy.testing.assert_array_equal(getattr(got, array), getattr(expected, array))
    for task in model.tasks:
        assert exported.types_of_task[task] == ("Disease",)
    versions = exported.manifest["versions"]
    assert versions["opset"] == 14 and versions["torch"] == torch.__version__
    assert json.loads((folder / "tokenizer.json").read_text())["model"]
