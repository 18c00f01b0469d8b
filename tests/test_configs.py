"""The top-level configs are compositions of the same pieces, and build for every category."""

import json

import _jsonnet
import pytest
from allennlp.common import Params
from allennlp.data import DatasetReader, Vocabulary
from allennlp.models import Model

from tests.conftest import ROOT, TINY_XLNET, real_data_root

CATEGORIES = {"chemical": "Chemical", "disease": "Disease", "gene": "Gene", "species": "Species"}
DATASET_OF = {
    "chemical": "BC5CDR-chem",
    "disease": "NCBI-disease",
    "gene": "BioNLP13CG-ggp",
    "species": "CRAFT-species",
}


def _settings(category):
    return {
        "HSL_BIONER_DATA": "/data",
        "HSL_BIONER_ENCODER": TINY_XLNET,
        "HSL_BIONER_CATEGORY": category,
        "HSL_BIONER_DATASET": DATASET_OF[category],
        "HSL_BIONER_SLICING_RATE": "0.5",
        "HSL_BIONER_MTL_XC_ARCHIVE": "runs/mtl_xc/model.tar.gz",
    }


def _config(name, category):
    path = ROOT / "training_config" / f"{name}.jsonnet"
    return json.loads(_jsonnet.evaluate_file(str(path), ext_vars=_settings(category)))


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("regime", ["stl", "mtl_xc", "mtl_ls"])
def test_every_config_builds_for_every_category(regime, category):
    config = _config(regime, category)
    model_config = config["model"]
    tasks = model_config["tasks"]
    readers = config["dataset_reader"]["readers"]
    assert (
        set(readers)
        == set(tasks)
        == set(config["train_data_path"])
        == set(config["test_data_path"])
    )
    groups = model_config["groups"]
    group_of = {task: group for group, members in groups.items() for task in members}
    namespaces = {}
    for task, reader in readers.items():
        assert list(reader["type_map"].values()) == [CATEGORIES[category]]
        # The reader works out its namespace from the model's groups.
        namespaces[task] = DatasetReader.from_params(Params(dict(reader))).label_namespace
        assert namespaces[task] == group_of.get(task, task) + "_labels"
        assert config["train_data_path"][task].startswith("/data/")
    if regime == "stl":
        assert tasks == [DATASET_OF[category]]
    else:
        assert len(tasks) >= 3 or category == "disease"
    if regime == "mtl_xc":
        assert groups == {category: tasks}
    if regime == "mtl_ls":
        assert model_config["embedder"]["slicing_rate"] == 0.5 and groups == {}
        initializer = model_config.pop("initializer")["regexes"][0][1]
        assert initializer["archive_file"] == "runs/mtl_xc/model.tar.gz"
        assert initializer["encoder"] == TINY_XLNET
        assert initializer["part"] == "shared"

    vocab = Vocabulary()
    for namespace in namespaces.values():
        vocab.add_tokens_to_namespace(
            ["O", f"B-{CATEGORIES[category]}", f"I-{CATEGORIES[category]}"], namespace
        )
    model = Model.from_params(vocab=vocab, params=Params(model_config))
    assert sorted(model.heads) == sorted(set(group_of.get(t, t) for t in tasks))
    assert config["trainer"]["optimizer"] == {
        "type": "layerwise_adamw",
        "lr": 3e-5,
        "eps": 1e-6,
        "layer_decay": 0.9,
    }


def test_stl_mtl_xc_and_mtl_ls_differ_only_in_composition():
    stl, xc, ls = (_config(name, "disease") for name in ("stl", "mtl_xc", "mtl_ls"))
    for key in ("trainer", "data_loader", "validation_data_loader", "random_seed"):
        assert stl[key] == xc[key] == ls[key]
    assert {k: v for k, v in xc["model"].items() if k not in ("groups",)} == {
        k: v for k, v in ls["model"].items() if k not in ("groups", "embedder", "initializer")
    } | {"embedder": xc["model"]["embedder"]}


def test_every_listed_corpus_exists_in_the_data_root():
    root = real_data_root()
    listed = json.loads(
        _jsonnet.evaluate_snippet(
            "x", "(import 'training_config/lib/datasets.libsonnet').corpora", jpathdir=[str(ROOT)]
        )
    )
    for dataset in listed:
        for split in ("train", "devel", "test"):
            assert (root / dataset["folder"] / f"{split}.tsv").is_file(), dataset
