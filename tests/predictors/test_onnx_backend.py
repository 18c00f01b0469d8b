"""`backend: onnx`: the predictor and `allennlp bioner-tag --backend onnx` give the torch backend's
entities on the fixture fixture_archives (tiny XLNet and tiny BERT, STL and MTL-LS)."""

import json

import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.predictors import Predictor

from hsl_bioner.export import export_archive
from hsl_bioner.predictors import onnx_backend
from tests.conftest import FIXTURES, assert_same_entities, run_allennlp

TEXTS = [
    *(FIXTURES / "raw" / "abstracts.txt").read_text(encoding="utf-8").splitlines(),
    "",
    # Longer than the fixtures' max_length of 64 pieces: folded into several segments.
    "Patients with familial adenomatous polyposis and colorectal cancer . " * 12,
]


@pytest.fixture
def cache(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv(onnx_backend.CACHE_SETTING, str(folder))
    return folder


@pytest.mark.parametrize("name", ["xlnet_stl", "xlnet_mtl_ls", "bert_stl", "bert_mtl_ls"])
def test_onnx_backend_tags_as_torch(fixture_archives, cache, name, monkeypatch):
    archive = str(fixture_archives[name])
    documents = [{"text": text} for text in TEXTS]
    expected = Predictor.from_path(archive, "bioner").predict_batch_json(documents)
    if name.startswith("xlnet"):
        # Not vacuous: these find entities. (The tiny BERT runs train one epoch and may find none
        # in these texts; their tags, all of them, are still compared one for one.)
        assert any(record["entities"] for record in expected)
    onnx = Predictor.from_path(archive, "bioner", backend="onnx")
    assert_same_entities(expected, onnx.predict_batch_json(documents))
    # The export is cached: a second predictor loads it without exporting again.
    (entry,) = [path for path in (cache / "exports").iterdir() if not path.name.startswith(".")]
    assert entry.name.startswith("model-") and entry.name.endswith("-fp32")
    monkeypatch.setattr(onnx_backend, "write_folder", _no_export)
    again = Predictor.from_path(archive, "bioner", backend="onnx", merge="none")
    assert len(again.predict_batch_json(documents)) == len(documents)


def _no_export(*args, **kwargs):
    raise AssertionError("exported again despite the cache")


def test_export_dir_and_the_command(fixture_archives, cache, tmp_path):
    archive = str(fixture_archives["xlnet_mtl_ls"])
    folder = export_archive(archive, str(tmp_path / "exported"))
    documents = [{"text": text} for text in TEXTS]
    expected = Predictor.from_path(archive, "bioner").predict_batch_json(documents)
    given = Predictor.from_path(
        archive, "bioner", backend="onnx", export_dir=str(folder), tasks=["disease_b"]
    )
    assert given.tasks == ["disease_b"]
    chosen = Predictor.from_path(archive, "bioner", tasks=["disease_b"])
    assert_same_entities(chosen.predict_batch_json(documents), given.predict_batch_json(documents))

    inputs = tmp_path / "docs.txt"
    inputs.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    outputs = {}
    for backend in ("torch", "onnx"):
        output = tmp_path / f"{backend}.jsonl"
        run_allennlp(
            ["bioner-tag", archive, str(inputs), "--output-file", str(output), "--no-progress"]
            + ["--backend", backend],
            env={onnx_backend.CACHE_SETTING: str(cache)},
        )
        outputs[backend] = [json.loads(line) for line in output.read_text("utf-8").splitlines()]
    assert_same_entities(expected, outputs["torch"])
    assert_same_entities(outputs["torch"], outputs["onnx"])
    # The command keys its cache by the archive's SHA-256.
    names = [p.name for p in (cache / "exports").iterdir()]
    assert f"{onnx_backend.sha256_of(archive)}-fp32" in names


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"export_dir": "x"}, "export_dir only applies with backend: onnx"),
        ({"backend": "tensorflow"}, "backend must be one of torch, onnx"),
        ({"backend": "onnx", "export_dir": 3}, "export_dir must be a folder path"),
        (
            {"backend": "onnx", "int8": True, "int8_fp32_layers": [0]},
            "int8_fp32_layers applies to the torch backend",
        ),
        ({"backend": "onnx", "export_dir": "no/such/folder"}, "backend onnx: no/such/folder"),
    ],
)
def test_bad_backend_arguments_are_named(fixture_archives, arguments, message):
    with pytest.raises(ConfigurationError, match=message):
        Predictor.from_path(str(fixture_archives["xlnet_stl"]), "bioner", **arguments)


def test_int8_needs_an_int8_export(fixture_archives, tmp_path):
    archive = str(fixture_archives["xlnet_stl"])
    folder = export_archive(archive, str(tmp_path / "fp32"))
    with pytest.raises(ConfigurationError, match="is a fp32 export, but int8 is on"):
        Predictor.from_path(archive, "bioner", backend="onnx", int8=True, export_dir=str(folder))


def test_int8_backend_exports_int8_once(fixture_archives, cache):
    archive = str(fixture_archives["xlnet_mtl_ls"])
    documents = [{"text": text} for text in TEXTS]
    fp32 = Predictor.from_path(archive, "bioner").predict_batch_json(documents)
    int8 = Predictor.from_path(archive, "bioner", backend="onnx", int8=True)
    found = int8.predict_batch_json(documents)
    assert len(found) == len(fp32)
    same = sum(
        a["tags"] == b["tags"]
        for x, y in zip(fp32, found)
        for a, b in zip(x["sentences"], y["sentences"])
    )
    assert same >= 0.5 * sum(len(x["sentences"]) for x in fp32)  # int8 is close, not exact
    (entry,) = [p for p in (cache / "exports").iterdir() if not p.name.startswith(".")]
    assert entry.name.endswith("-int8")
    assert json.loads((entry / "tagger.json").read_text())["precision"] == "int8"
