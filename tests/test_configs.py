"""The top-level configs are compositions of the same pieces, and build for every category."""

import json

import _jsonnet
import pytest
from allennlp.common import Params
from allennlp.data import DatasetReader, Vocabulary
from allennlp.models import Model

from hsl_bioner.corpora import corpora_json
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
        "HSL_BIONER_DATASETS": "",
        "HSL_BIONER_CORPORA_JSON": corpora_json(""),
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
        # Every type of the corpus becomes the category's; types outside it (JNLPBA's cells) 'O'.
        assert set(reader["type_map"].values()) - {"O"} == {CATEGORIES[category]}
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
        "type": "bioner_layerwise_adamw",
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


# The paper's corpora that ../shared/data/MTL-Bioinformatics-2016 does not hold (too large, or
# of unclear redistribution status); a full copy of Crichton et al.'s data/ folder has them.
NOT_IN_THE_SHARED_COPY = {"BC2GM", "BC4CHEMD", "JNLPBA", "LINNAEUS"}


def test_every_listed_corpus_exists_in_the_data_root():
    root = real_data_root()
    listed = json.loads(
        _jsonnet.evaluate_snippet(
            "x", "(import 'training_config/lib/datasets.libsonnet').corpora", jpathdir=[str(ROOT)]
        )
    )
    for dataset in listed:
        if dataset["name"] in NOT_IN_THE_SHARED_COPY and not (root / dataset["folder"]).is_dir():
            continue
        for split in ("train", "devel", "test"):
            assert (root / dataset["folder"] / f"{split}.tsv").is_file(), dataset


def test_every_entity_type_in_a_listed_corpus_is_mapped():
    # A type in neither entity_type nor other_types would silently become a label of its own.
    root = real_data_root()
    listed = json.loads(
        _jsonnet.evaluate_snippet(
            "x",
            "local c = import 'training_config/lib/corpora.libsonnet'; "
            "local d = import 'training_config/lib/datasets.libsonnet'; "
            "c.resolved(d.corpora, d.category_types)",
            jpathdir=[str(ROOT)],
        )
    )
    checked = 0
    for dataset in listed:
        path = root / dataset["folder"] / "train.tsv"
        if not path.is_file():
            continue
        types = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            tag = line.rstrip().rpartition("\t")[2]
            if tag[:2] in ("B-", "I-"):
                types.add(tag[2:])
        assert types and types <= set(dataset["type_map"]), (dataset["name"], sorted(types))
        checked += 1
    assert checked > 0
