import pytest
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import Batch, Instance, Token, Vocabulary
from allennlp.data.fields import TextField
from allennlp.data.token_indexers import PretrainedTransformerMismatchedIndexer
from allennlp.modules.token_embedders import PretrainedTransformerEmbedder
from allennlp.nn.util import batched_index_select

from hsl_bioner.data.piece_indexer import PieceIndexer
from hsl_bioner.encoder_files import save_encoder_files
from hsl_bioner.modules import split_transformer
from hsl_bioner.modules.split_embedder import SplitTransformerEmbedder
from tests.conftest import TINY_BERT, TINY_XLNET

WORDS = "Mutations in p53 predispose to familial adenomatous polyposis ( FAP ) .".split()
SENTENCES = [WORDS * 4, WORDS[:3], WORDS, ["IL-2"] * 25]


def _tensors(indexer, sentences):
    instances = [
        Instance({"tokens": TextField([Token(w) for w in words], {"t": indexer})})
        for words in sentences
    ]
    batch = Batch(instances)
    batch.index_instances(Vocabulary())
    return batch.as_tensor_dict()["tokens"]["t"]


@pytest.mark.parametrize("encoder", [TINY_XLNET, TINY_BERT])
@pytest.mark.parametrize("max_length", [None, 16])
def test_word_vectors_equal_allennlps_embedder_read_at_first_pieces(encoder, max_length):
    # AllenNLP's PretrainedTransformerEmbedder folds and unfolds the same segments (and runs rows
    # of padding only for the short sentences): the vectors, hence the scores, of ordinary words
    # are the same in our layout.
    ours = SplitTransformerEmbedder(encoder, upper_stacks=["a"], max_length=max_length).eval()
    indexed = _tensors(PieceIndexer(encoder, max_length=max_length), SENTENCES)
    vectors = ours(**indexed, rows_of_stack={"a": None})["a"]

    reference = PretrainedTransformerEmbedder(encoder, max_length=max_length).eval()
    indexer = PretrainedTransformerMismatchedIndexer(encoder, max_length=max_length)
    theirs = _tensors(indexer, SENTENCES)
    pieces = reference(
        theirs["token_ids"],
        theirs["wordpiece_mask"],
        theirs["type_ids"],
        theirs.get("segment_concat_mask"),
    )
    expected = batched_index_select(pieces.contiguous(), theirs["offsets"][..., 0])
    expected = expected * theirs["mask"].unsqueeze(-1)
    assert vectors.shape == expected.shape == (len(SENTENCES), len(SENTENCES[0]), ours.output_dim)
    assert torch.allclose(vectors, expected, atol=1e-5)


@pytest.mark.parametrize("encoder", [TINY_XLNET, TINY_BERT])
def test_instances_are_routed_through_their_own_stack(encoder):
    embedder = SplitTransformerEmbedder(
        encoder, upper_stacks=["a", "b"], shared_layers=2, max_length=16
    ).eval()
    with torch.no_grad():
        for parameter in embedder.split.upper_stacks["b"].parameters():
            parameter.add_(0.3)
    indexed = _tensors(PieceIndexer(encoder, max_length=16), SENTENCES)
    routed = embedder(**indexed, rows_of_stack={"a": torch.tensor([2, 0]), "b": torch.tensor([1])})
    assert routed["a"].shape == (2, len(SENTENCES[0]), embedder.output_dim)
    assert routed["b"].shape == (1, len(SENTENCES[0]), embedder.output_dim)
    every = embedder(**indexed, rows_of_stack={"a": None, "b": None})
    assert torch.allclose(routed["a"], every["a"][[2, 0]], atol=1e-5)
    assert torch.allclose(routed["b"], every["b"][[1]], atol=1e-5)
    assert not torch.allclose(every["a"][0], every["b"][0])
    # A sentence's vectors do not depend on the other sentences of its batch, nor padding words.
    for i, words in enumerate(SENTENCES):
        alone = embedder(
            **_tensors(PieceIndexer(encoder, max_length=16), [words]), rows_of_stack={"a": None}
        )["a"][0]
        assert torch.allclose(alone, every["a"][i, : len(words)], atol=1e-5)
        assert not every["a"][i, len(words) :].any()


def test_sentences_of_words_without_pieces_get_vectors():
    # Issue 12 item 1: "\U00016f51" has no piece in the tiny XLNet; the embedder's folding used
    # to get an empty piece sequence and crash.
    embedder = SplitTransformerEmbedder(TINY_XLNET, upper_stacks=["a"], max_length=64).eval()
    sentences = [["\U00016f51"], ["\U00016f51", "\U00016f51"], ["cancer", "\U00016f51"]]
    indexed = _tensors(PieceIndexer(TINY_XLNET, max_length=64), sentences)
    vectors = embedder(**indexed, rows_of_stack={"a": None})["a"]
    assert vectors.shape == (3, 2, embedder.output_dim)
    assert (vectors[0, 0] != 0).any() and not vectors[0, 1].any()
    assert (vectors[1:].abs().sum(-1) > 0).all()


def test_an_unknown_stack_is_a_configuration_error():
    indexed = _tensors(PieceIndexer(TINY_BERT), SENTENCES[:2])
    several = SplitTransformerEmbedder(TINY_BERT, upper_stacks=["a", "b"], shared_layers=2)
    with pytest.raises(ConfigurationError, match="No upper stack named c"):
        several(**indexed, rows_of_stack={"c": None})


def test_from_an_archive_folder_no_pretrained_weights_are_read(tmp_path, monkeypatch):
    save_encoder_files(TINY_XLNET, str(tmp_path))
    assert not list((tmp_path / "encoder").glob("*.bin"))

    def no_pretrained_weights(*args, **kwargs):
        raise AssertionError("read pre-trained weights")

    monkeypatch.setattr(split_transformer.AutoModel, "from_pretrained", no_pretrained_weights)
    embedder = SplitTransformerEmbedder(
        "no/such/folder", upper_stacks=["a"], serialization_dir=str(tmp_path)
    )
    indexer = PieceIndexer("no/such/folder", serialization_dir=str(tmp_path))
    assert embedder.output_dim == 32
    vectors = embedder(**_tensors(indexer, SENTENCES[:2]), rows_of_stack={"a": None})["a"]
    assert vectors.shape[:2] == (2, len(SENTENCES[0]))
    # Without an archive folder, the model name is loaded, with its pre-trained weights.
    with pytest.raises(AssertionError, match="pre-trained"):
        SplitTransformerEmbedder(TINY_XLNET, upper_stacks=["a"], serialization_dir=None)
