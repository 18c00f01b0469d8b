"""Your own corpora (HSL_BIONER_CORPORA) merged with the built-in list, the data sets of a run
(HSL_BIONER_DATASETS), and a run whose corpora are absent."""

import json
import os

import _jsonnet
import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import DataLoader, DatasetReader

from hsl_bioner import settings
from hsl_bioner.corpora import CORPORA_JSON, corpora_json, read_user_corpora
from tests.conftest import FIXTURES, ROOT, TINY_XLNET, real_data_root, run_allennlp

CATEGORY = "phenotype"


def _write_corpus(source_folder, target_folder, retype):
    """A copy of a fixture corpus whose entity types are `retype(sentence number, type)`."""
    target_folder.mkdir(parents=True)
    for split in ("train", "devel", "test"):
        lines, sentence = [], 0
        for line in (source_folder / f"{split}.tsv").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                sentence += 1
                lines.append(line)
                continue
            token, tag = line.split("\t")
            if tag != "O":
                tag = f"{tag[:2]}{retype(sentence, tag[2:])}"
            lines.append(f"{token}\t{tag}")
        (target_folder / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def phenotype(tmp_path, monkeypatch):
    """A user's category of two corpora, made from the fixture disease corpora: pheno-a (types
    Sign, and Gene in every third sentence, which is not of the category) in an absolute folder,
    pheno-b (HP and HPO) under the data root; and the Jsonnet file that lists them."""
    root = tmp_path / "root"
    _write_corpus(
        FIXTURES / "data" / "disease_a",
        tmp_path / "elsewhere" / "pheno_a",
        lambda sentence, _: "Gene" if sentence % 3 == 0 else "Sign",
    )
    _write_corpus(
        FIXTURES / "data" / "disease_b",
        root / "pheno_b",
        lambda sentence, _: "HP" if sentence % 2 else "HPO",
    )
    monkeypatch.setenv("PHENO_ELSEWHERE", str(tmp_path / "elsewhere"))
    user_file = tmp_path / "my_corpora.jsonnet"
    user_file.write_text(
        """
local elsewhere = std.extVar('PHENO_ELSEWHERE');
{
  corpora: [
    { name: 'pheno-a', folder: elsewhere + '/pheno_a', category: 'phenotype',
      entity_type: 'Sign', other_types: ['Gene'] },
    { name: 'pheno-b', folder: 'pheno_b', category: 'phenotype', entity_type: ['HP', 'HPO'] },
  ],
  category_types: { phenotype: 'Phenotype' },
}
""",
        encoding="utf-8",
    )
    return {"root": root, "file": user_file, "a": tmp_path / "elsewhere" / "pheno_a"}


def _settings(**changes):
    values = {
        "HSL_BIONER_DATA": "/data",
        "HSL_BIONER_ENCODER": TINY_XLNET,
        "HSL_BIONER_CATEGORY": "disease",
        "HSL_BIONER_DATASET": "NCBI-disease",
        "HSL_BIONER_DATASETS": "",
        "HSL_BIONER_SLICING_RATE": "0.5",
        "HSL_BIONER_MTL_XC_ARCHIVE": "runs/mtl_xc/model.tar.gz",
        CORPORA_JSON: corpora_json(""),
    }
    values.update(changes)
    return values


def _config(name, **changes):
    path = ROOT / "training_config" / f"{name}.jsonnet"
    return json.loads(_jsonnet.evaluate_file(str(path), ext_vars=_settings(**changes)))


def _user_json(tmp_path, contents):
    path = tmp_path / "corpora.json"
    path.write_text(json.dumps(contents), encoding="utf-8")
    return corpora_json(str(path))


def _entry(**changes):
    entry = {"name": "mine", "folder": "mine", "category": "disease", "entity_type": "Disease"}
    entry.update(changes)
    return entry


# --- the user's file, read by the plugin ------------------------------------------------------


def test_a_users_category_is_in_every_regime_with_its_folders_and_types(phenotype):
    user = corpora_json(str(phenotype["file"]))
    common = {
        CORPORA_JSON: user,
        "HSL_BIONER_DATA": str(phenotype["root"]),
        "HSL_BIONER_CATEGORY": CATEGORY,
    }
    for regime in ("mtl_xc", "mtl_ls"):
        config = _config(regime, **common)
        assert config["model"]["tasks"] == ["pheno-a", "pheno-b"]
        assert config["train_data_path"] == {
            "pheno-a": f"{phenotype['a']}/train.tsv",
            "pheno-b": f"{phenotype['root']}/pheno_b/train.tsv",
        }
        readers = config["dataset_reader"]["readers"]
        assert readers["pheno-a"]["type_map"] == {"Sign": "Phenotype", "Gene": "O"}
        assert readers["pheno-b"]["type_map"] == {"HP": "Phenotype", "HPO": "Phenotype"}
    assert _config("mtl_xc", **common)["model"]["groups"] == {CATEGORY: ["pheno-a", "pheno-b"]}
    stl = _config("stl", **common, HSL_BIONER_DATASET="pheno-b")
    assert stl["model"]["tasks"] == ["pheno-b"]
    # The built-in list is still there, unchanged.
    assert _config("mtl_xc", **{CORPORA_JSON: user}) == _config("mtl_xc")


def test_a_json_file_works_as_well_and_may_join_a_built_in_category(tmp_path):
    user = _user_json(tmp_path, {"corpora": [_entry(name="my-disease", folder="/x/my")]})
    config = _config("mtl_xc", **{CORPORA_JSON: user})
    assert config["model"]["tasks"] == ["BC5CDR-disease", "NCBI-disease", "my-disease"]
    assert config["test_data_path"]["my-disease"] == "/x/my/test.tsv"


def test_the_plugin_hands_the_file_to_jsonnet_and_never_reads_the_variable_from_the_user(
    phenotype, monkeypatch
):
    monkeypatch.setenv("HSL_BIONER_CORPORA", str(phenotype["file"]))
    monkeypatch.setenv(CORPORA_JSON, '{"corpora": "set by hand"}')
    settings.apply_default_settings()
    handed = json.loads(os.environ[CORPORA_JSON])
    assert handed == read_user_corpora(str(phenotype["file"]))
    assert [entry["name"] for entry in handed["corpora"]] == ["pheno-a", "pheno-b"]


@pytest.mark.parametrize(
    "contents, message",
    [
        ([], 'expected an object {"corpora": [...]}'),
        ({"corpora": []}, '"corpora" must be a non-empty list'),
        ({"corpora": [_entry()], "extra": 1}, "unknown key(s) extra"),
        ({"corpora": [{"name": "mine", "folder": "x"}]}, "corpus 1 (mine): missing field(s) "
         "category, entity_type"),
        ({"corpora": [_entry(kind="x")]}, "corpus 1 (mine): unknown field(s) kind"),
        ({"corpora": [_entry(name="my.corpus")]}, "'my.corpus' is not a valid name"),
        ({"corpora": [_entry(name="a,b")]}, "'a,b' is not a valid name"),
        ({"corpora": [_entry(folder="")]}, "folder must be a non-empty string"),
        ({"corpora": [_entry(entity_type=[])]}, "entity_type must name at least one type"),
        ({"corpora": [_entry(entity_type="Dis ease")]}, "must not contain whitespace"),
        ({"corpora": [_entry(other_types=["Disease"])]}, "Disease both in entity_type and in "
         "other_types"),
        ({"corpora": [_entry(), _entry()]}, "corpus names used twice: mine"),
        ({"corpora": [_entry()], "category_types": {"cell": ""}}, "category_types['cell']"),
    ],
)
def test_a_bad_entry_is_named_with_the_file(tmp_path, contents, message):
    handed = json.loads(_user_json(tmp_path, contents))
    assert str(tmp_path / "corpora.json") in handed["error"]
    assert message in handed["error"]
    # The configs that use the corpus list fail with that message.
    with pytest.raises(RuntimeError, match="HSL_BIONER_CORPORA="):
        _config("mtl_xc", **{CORPORA_JSON: json.dumps(handed)})


def test_a_file_that_is_absent_or_not_jsonnet_is_an_error(tmp_path):
    assert "no such file" in json.loads(corpora_json(str(tmp_path / "absent.json")))["error"]
    (tmp_path / "bad.jsonnet").write_text("{ corpora: [ }")
    assert "not valid JSON or Jsonnet" in json.loads(corpora_json(str(tmp_path / "bad.jsonnet")))[
        "error"
    ]
    with pytest.raises(ConfigurationError, match="no such file"):
        read_user_corpora(str(tmp_path / "absent.json"))


# --- merging with the built-in list ----------------------------------------------------------


@pytest.mark.parametrize(
    "contents, message",
    [
        (
            {"corpora": [_entry(name="NCBI-disease")]},
            "NCBI-disease: the name of a built-in data set; give your entry another name",
        ),
        (
            {"corpora": [_entry()], "category_types": {"disease": "Illness"}},
            "the built-in categories keep their types (disease: Disease)",
        ),
        (
            {"corpora": [_entry(category="cell")]},
            'no unified type for category cell: add it to category_types, e.g. {"cell": ',
        ),
    ],
)
def test_what_the_built_in_list_does_not_allow(tmp_path, contents, message):
    user = _user_json(tmp_path, contents)
    with pytest.raises(RuntimeError) as error:
        _config("stl", **{CORPORA_JSON: user})
    assert message in str(error.value) and str(tmp_path / "corpora.json") in str(error.value)


def test_a_built_in_category_type_may_be_repeated(tmp_path):
    user = _user_json(tmp_path, {"corpora": [_entry()], "category_types": {"disease": "Disease"}})
    assert "mine" in _config("mtl_xc", **{CORPORA_JSON: user})["model"]["tasks"]


# --- the data sets of a run ------------------------------------------------------------------


def test_datasets_choose_a_subset_of_the_category_in_the_lists_order():
    for regime in ("mtl_xc", "mtl_ls"):
        config = _config(
            regime,
            HSL_BIONER_CATEGORY="species",
            HSL_BIONER_DATASETS="CRAFT-species, BioNLP11ID-species",
        )
        assert config["model"]["tasks"] == ["BioNLP11ID-species", "CRAFT-species"]
    assert _config("mtl_xc", HSL_BIONER_DATASETS="NCBI-disease,BC5CDR-disease") == _config(
        "mtl_xc"
    )


@pytest.mark.parametrize(
    "names, message",
    [
        ("NCBI-disease,CRAFT-species", 'CRAFT-species not of category "disease"'),
        ("NCBI", "NCBI not of category"),
    ],
)
def test_datasets_outside_the_category_are_an_error(names, message):
    with pytest.raises(RuntimeError) as error:
        _config("mtl_xc", HSL_BIONER_DATASETS=names)
    assert message in str(error.value)
    assert "its data sets: BC5CDR-disease, NCBI-disease" in str(error.value)


def test_the_paper_corpora_are_listed_with_crichtons_folders():
    config = _config("mtl_xc", HSL_BIONER_CATEGORY="gene")
    assert config["train_data_path"]["BC2GM"] == "/data/BC2GM-IOB/train.tsv"
    assert config["train_data_path"]["JNLPBA"] == "/data/JNLPBA/train.tsv"
    assert config["dataset_reader"]["readers"]["JNLPBA"]["type_map"] == {
        "protein": "Gene",
        "DNA": "Gene",
        "RNA": "Gene",
        "cell_line": "O",
        "cell_type": "O",
    }
    species = _config("mtl_xc", HSL_BIONER_CATEGORY="species")
    assert species["train_data_path"]["LINNAEUS"] == "/data/linnaeus-IOB/train.tsv"
    chemical = _config("mtl_xc", HSL_BIONER_CATEGORY="chemical")
    assert chemical["train_data_path"]["BC4CHEMD"] == "/data/BC4CHEMD/train.tsv"


# --- absent corpora --------------------------------------------------------------------------


def _training_loader(config):
    params = Params(config)
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    return DataLoader.from_params(
        params.pop("data_loader"), reader=reader, data_path=params.pop("train_data_path")
    )


def test_a_category_with_an_absent_corpus_stops_and_says_how_to_choose_a_subset(phenotype):
    (phenotype["root"] / "pheno_b" / "train.tsv").unlink()
    (phenotype["root"] / "pheno_b" / "devel.tsv").unlink()
    (phenotype["root"] / "pheno_b" / "test.tsv").unlink()
    (phenotype["root"] / "pheno_b").rmdir()
    config = _config(
        "mtl_xc",
        **{
            CORPORA_JSON: corpora_json(str(phenotype["file"])),
            "HSL_BIONER_DATA": str(phenotype["root"]),
            "HSL_BIONER_CATEGORY": CATEGORY,
        },
    )
    with pytest.raises(ConfigurationError) as error:
        _training_loader(config)
    message = str(error.value)
    assert "Data files absent for 1 of the 2 task(s); nothing was read" in message
    assert f"pheno-b: {phenotype['root']}/pheno_b/train.tsv (no folder pheno_b in " in message
    assert "Present: pheno-a." in message
    assert "HSL_BIONER_DATASETS=pheno-a " in message
    assert "https://github.com/cambridgeltl/MTL-Bioinformatics-2016" in message


def test_the_paper_corpora_absent_from_the_shared_copy_are_named():
    root = real_data_root()
    if (root / "BC2GM-IOB").is_dir():
        pytest.skip(f"{root} holds BC2GM: this test is for a copy without it")
    config = _config("mtl_xc", HSL_BIONER_CATEGORY="gene", HSL_BIONER_DATA=str(root))
    with pytest.raises(ConfigurationError) as error:
        _training_loader(config)
    message = str(error.value)
    assert f"BC2GM: {root}/BC2GM-IOB/train.tsv (no folder BC2GM-IOB in {root})" in message
    assert f"JNLPBA: {root}/JNLPBA/train.tsv (no folder JNLPBA in {root})" in message
    assert "HSL_BIONER_DATASETS=BioNLP09,BioNLP11EPI," in message


# --- a user's category through every command -------------------------------------------------


def test_a_users_category_trains_evaluates_predicts_and_is_analysed(phenotype, tmp_path):
    env = {
        "HSL_BIONER_CORPORA": str(phenotype["file"]),
        "HSL_BIONER_DATA": str(phenotype["root"]),
        "HSL_BIONER_ENCODER": TINY_XLNET,
        "HSL_BIONER_CATEGORY": CATEGORY,
        "HSL_BIONER_DATASET": "pheno-a",
        "HSL_BIONER_MTL_XC_ARCHIVE": str(tmp_path / "xc" / "model.tar.gz"),
        "PHENO_ELSEWHERE": os.environ["PHENO_ELSEWHERE"],
    }
    short = json.dumps(
        {
            "trainer.num_epochs": 1,
            "data_loader.batch_size": 16,
            "trainer.optimizer.lr": 2e-3,
            "trainer.optimizer.head_lr": 1e-2,
        }
    )
    for regime, folder in (("stl", "stl"), ("mtl_xc", "xc"), ("mtl_ls", "ls")):
        run_allennlp(
            ["train", f"training_config/{regime}.jsonnet", "-s", str(tmp_path / folder), "-o",
             short],
            env=env,
        )
    metrics = json.loads((tmp_path / "ls" / "metrics.json").read_text())
    assert {"test_pheno-a_f1", "test_pheno-b_f1"} <= set(metrics)
    labels = (tmp_path / "xc" / "vocabulary" / f"{CATEGORY}_labels.txt").read_text().split()
    assert set(labels) == {"O", "B-Phenotype", "I-Phenotype"}  # Gene went to 'O'

    tests = {
        "pheno-a": str(phenotype["a"] / "test.tsv"),
        "pheno-b": str(phenotype["root"] / "pheno_b" / "test.tsv"),
    }
    evaluated = tmp_path / "evaluate.json"
    run_allennlp(
        ["evaluate", str(tmp_path / "ls" / "model.tar.gz"), json.dumps(tests), "--output-file",
         str(evaluated)],
        env=env,
    )
    scores = json.loads(evaluated.read_text())
    for task in tests:
        assert abs(scores[f"{task}_f1"] - metrics[f"test_{task}_f1"]) < 1e-6

    predictions = tmp_path / "predictions.jsonl"
    run_allennlp(
        ["predict", str(tmp_path / "xc" / "model.tar.gz"), "fixtures/raw/abstracts.txt",
         "--predictor", "bioner", "--output-file", str(predictions), "--silent"],
        env=env,
    )
    documents = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert documents and all(
        entity["type"] == "Phenotype" and entity["task"] in tests
        for document in documents
        for entity in document["entities"]
    )

    analysis = tmp_path / "analysis.json"
    run_allennlp(
        ["bioner-analyze", "--train", str(phenotype["a"] / "train.tsv"),
         str(phenotype["root"] / "pheno_b" / "train.tsv"), "--test", tests["pheno-b"],
         "--archive", str(tmp_path / "ls" / "model.tar.gz"), "--task", "pheno-b",
         "--output-json", str(analysis)],
        env=env,
    )
    assert "coverage" in json.dumps(json.loads(analysis.read_text()))
