"""The exported folder's manifest and reader (docs/export_format.md)."""
import json

import numpy
import pytest

from hsl_bioner_runtime import folder as export_folder
from hsl_bioner_runtime.crf import CrfParameters
from hsl_bioner_runtime.folder import ExportFolderError, load_folder, write_crfs, write_manifest
from hsl_bioner_runtime.pieces import SpecialTokens

TAGS = {"diseases": ("O", "B-Disease", "I-Disease"), "chem": ("O", "B-Chemical", "I-Chemical")}
SPECIAL = SpecialTokens(start=(), start_types=(), end=(4, 3), end_types=(0, 2), piece_type=0, unk=0)


def _crf(tags, seed):
    generator = numpy.random.default_rng(seed)
    n = len(tags)
    return CrfParameters(
        tags=tags,
        transitions=generator.standard_normal((n, n)).astype(numpy.float32),
        start=generator.standard_normal(n).astype(numpy.float32),
        end=generator.standard_normal(n).astype(numpy.float32),
        allowed=generator.random((n + 2, n + 2)) > 0.3,
    )


def _config():
    return {
        "format_version": 1,
        "encoder": {"family": "xlnet", "name": "tiny", "num_layers": 4, "shared_layers": 2,
                    "hidden_size": 32, "max_length": 64, "uses_type_ids": True},
        "special_tokens": SPECIAL.to_dict(),
        "text": {"max_token_chars": 50, "max_sentence_tokens": 200,
                 "newline_is_sentence_break": True, "extra_abbreviations": []},
        "label_encoding": "BIO",
        "tasks": {"disease_a": {"group": "diseases", "types": ["Disease"]},
                  "disease_b": {"group": "diseases", "types": ["Disease"]},
                  "chem_a": {"group": "chem", "types": ["Chemical"]}},
        "groups": {group: {"graph": export_folder.group_graph_name(group), "tags": list(tags)}
                   for group, tags in TAGS.items()},
        "precision": "fp32",
        "int8": None,
    }


@pytest.fixture
def exported(tmp_path):
    """A folder as the exporter writes it (with stand-in bytes for the graphs and tokenizer)."""
    out = tmp_path / "model"
    out.mkdir()
    (out / export_folder.TAGGER_CONFIG).write_text(json.dumps(_config()))
    (out / export_folder.TOKENIZER).write_text("{}")
    (out / export_folder.SHARED_GRAPH).write_bytes(b"shared graph")
    for group in TAGS:
        (out / export_folder.group_graph_name(group)).write_bytes(group.encode())
    crfs = {group: _crf(tags, seed) for seed, (group, tags) in enumerate(TAGS.items())}
    write_crfs(out / export_folder.CRF_FILE, crfs)
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"archive")
    write_manifest(out, str(archive), {"hsl_bioner": "0.1.0", "opset": 14})
    return out, crfs, archive


def test_a_written_folder_reads_back(exported):
    out, crfs, archive = exported
    model = load_folder(out)
    assert model.path == out
    assert model.tasks == ("disease_a", "disease_b", "chem_a")
    assert model.groups == ("diseases", "chem")
    assert model.group_of_task == {"disease_a": "diseases", "disease_b": "diseases",
                                   "chem_a": "chem"}
    assert model.types_of_task["chem_a"] == ("Chemical",)
    assert model.special_tokens == SPECIAL
    assert model.max_length == 64 and model.label_encoding == "BIO" and model.precision == "fp32"
    assert model.text_settings["max_token_chars"] == 50
    assert model.encoder["shared_layers"] == 2
    assert model.tokenizer == out / "tokenizer.json"
    assert model.shared_graph == out / "shared.onnx"
    assert model.group_graphs == {g: out / f"group.{g}.onnx" for g in TAGS}
    for group, crf in crfs.items():
        got = model.crfs[group]
        assert got.tags == TAGS[group]
        for name in ("transitions", "start", "end", "allowed"):
            numpy.testing.assert_array_equal(getattr(got, name), getattr(crf, name))
        assert got.allowed.dtype == bool
    manifest = model.manifest
    assert manifest["format"] == "hsl-bioner-export" and manifest["format_version"] == 1
    assert manifest["source_archive"] == {
        "path": str(archive), "sha256": export_folder.sha256_of(archive)
    }
    assert manifest["versions"] == {"hsl_bioner": "0.1.0", "opset": 14}
    assert set(manifest["files"]) == {
        "tagger.json", "tokenizer.json", "shared.onnx", "crf.npz", "group.diseases.onnx",
        "group.chem.onnx",
    }


def test_an_altered_file_is_refused_by_name(exported):
    out, _, _ = exported
    (out / "group.chem.onnx").write_bytes(b"tampered")
    with pytest.raises(ExportFolderError, match=r"group\.chem\.onnx: its SHA-256 differs"):
        load_folder(out)
    load_folder(out, verify=False)  # the caller may skip the checksums


@pytest.mark.parametrize("name", ["shared.onnx", "crf.npz", "tokenizer.json", "group.chem.onnx"])
def test_a_missing_file_is_named(exported, name):
    out, _, _ = exported
    (out / name).unlink()
    with pytest.raises(ExportFolderError, match=rf"{name.replace('.', r'.')}: missing"):
        load_folder(out, verify=False)


def test_a_file_outside_the_manifest_is_refused(exported):
    out, _, _ = exported
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["files"]["crf.npz"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExportFolderError, match=r"crf\.npz: not listed in manifest\.json"):
        load_folder(out)


@pytest.mark.parametrize("name", ["manifest.json", "tagger.json"])
def test_another_format_version_is_refused(exported, name):
    out, _, _ = exported
    data = json.loads((out / name).read_text())
    data["format_version"] = 2
    (out / name).write_text(json.dumps(data))
    with pytest.raises(ExportFolderError, match=rf"{name.replace('.', r'.')}: format_version 2"):
        load_folder(out, verify=False)


def test_not_a_folder_or_not_an_export(tmp_path):
    with pytest.raises(ExportFolderError, match="no such folder"):
        load_folder(tmp_path / "absent")
    with pytest.raises(ExportFolderError, match=r"manifest\.json: missing"):
        load_folder(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ExportFolderError, match=r"manifest\.json: not valid JSON"):
        load_folder(tmp_path)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.pop("groups"), "missing or malformed entry"),
        (lambda c: c.update(label_encoding="IOB2"), "label_encoding 'IOB2'"),
        (lambda c: c.update(precision="fp16"), "precision 'fp16'"),
        (lambda c: c["tasks"]["chem_a"].update(group="genes"), "groups genes it lacks"),
        (lambda c: c["encoder"].update(max_length=0), "max_length 0"),
    ],
)
def test_an_inconsistent_tagger_json_is_named(exported, change, message):
    out, _, _ = exported
    config = json.loads((out / "tagger.json").read_text())
    change(config)
    (out / "tagger.json").write_text(json.dumps(config))
    with pytest.raises(ExportFolderError, match=rf"tagger\.json: .*{message}"):
        load_folder(out, verify=False)


def test_crf_arrays_of_the_wrong_shape_are_named(exported):
    out, crfs, _ = exported
    config = json.loads((out / "tagger.json").read_text())
    config["groups"]["chem"]["tags"].append("B-Other")
    (out / "tagger.json").write_text(json.dumps(config))
    with pytest.raises(ExportFolderError, match=r"crf\.npz: group 'chem'.*transitions"):
        load_folder(out, verify=False)
