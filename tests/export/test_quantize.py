"""int8 export (ONNX Runtime quantisation): which nodes, both methods, what tagger.json records."""
import numpy
import onnx
import onnxruntime
import pytest
from allennlp.common.checks import ConfigurationError
from tokenizers import Tokenizer

from hsl_bioner.export import export_archive
from hsl_bioner.export.quantize import node_layers, nodes_to_quantize
from hsl_bioner_runtime.folder import load_folder
from hsl_bioner_runtime.pieces import PieceEncoder
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def bert_mtl_ls(tiny_bert_runs, tmp_path_factory):
    """The tiny BERT MTL-LS archive (k = 2 of 4) and its fp32 export."""
    archive = str(tiny_bert_runs["mtl_ls"] / "model.tar.gz")
    return archive, export_archive(archive, str(tmp_path_factory.mktemp("fp32") / "out"))


def _emissions(folder, group):
    exported = load_folder(folder)
    pieces = PieceEncoder(
        Tokenizer.from_file(str(exported.tokenizer)), exported.special_tokens, exported.max_length
    )
    batch = pieces.batch(pieces.encode_batch([["Familial", "adenomatous", "polyposis", "."]]))
    feed = {"attention_mask": batch.mask.astype(numpy.int64), "token_type_ids": batch.type_ids}
    shared = onnxruntime.InferenceSession(str(exported.shared_graph))
    (hidden,) = shared.run(None, {"input_ids": batch.token_ids, **feed})
    head = onnxruntime.InferenceSession(str(exported.group_graphs[group]))
    return head.run(None, {"hidden": hidden, **feed})[0]


def test_every_layer_matmul_is_found_in_its_layer(bert_mtl_ls):
    _, folder = bert_mtl_ls
    shared = onnx.load(str(folder / "shared.onnx"))
    group = onnx.load(str(folder / "group.disease_a.onnx"))
    # BERT layer: query, key, value, attention output, two feed-forward MatMuls with weights,
    # plus the two attention-score MatMuls.
    for model, layers in ((shared, {0, 1}), (group, {2, 3})):
        found = node_layers(model)
        matmuls = [n.name for n in model.graph.node if n.op_type == "MatMul"]
        by_layer = {layer: [n for n in matmuls if found.get(n) == layer] for layer in layers}
        assert {layer: len(nodes) for layer, nodes in by_layer.items()} == dict.fromkeys(layers, 8)
    # The projection (after the last layer) is not in a layer, and never quantised.
    assert len(nodes_to_quantize(group, 4, [])) == 16
    assert nodes_to_quantize(group, 4, [2, -1]) == []


@pytest.mark.parametrize("method", ["dynamic", "static"])
def test_int8_folders_run_and_record_their_settings(bert_mtl_ls, tmp_path, method):
    archive, fp32 = bert_mtl_ls
    calibration = str(FIXTURES / "data" / "disease_b" / "train.tsv")
    out = export_archive(
        archive,
        str(tmp_path / method),
        int8=True,
        int8_method=method,
        fp32_layers=[0],
        calibration_file=calibration if method == "static" else None,
    )
    exported = load_folder(out)
    assert exported.precision == "int8"
    assert exported.config["int8"] == {"method": method, "fp32_layers": [0], "per_channel": True}
    ops = {n.op_type for n in onnx.load(str(out / "shared.onnx")).graph.node}
    assert ("DynamicQuantizeLinear" if method == "dynamic" else "QuantizeLinear") in ops
    for group in exported.groups:
        expected, got = _emissions(fp32, group), _emissions(out, group)
        assert got.shape == expected.shape
        assert numpy.abs(got - expected).max() < 0.25 * numpy.abs(expected).max() + 0.1


def test_int8_options_are_checked(bert_mtl_ls, tmp_path):
    archive, _ = bert_mtl_ls
    with pytest.raises(ConfigurationError, match="only apply with --int8"):
        export_archive(archive, str(tmp_path / "a"), int8_method="static")
    with pytest.raises(ConfigurationError, match="int8 method must be one of dynamic, static"):
        export_archive(archive, str(tmp_path / "b"), int8=True, int8_method="fp16")
    with pytest.raises(ConfigurationError, match="int8_fp32_layers"):
        export_archive(archive, str(tmp_path / "c"), int8=True, fp32_layers=[7])
    with pytest.raises(ConfigurationError, match="absent.tsv: no such calibration file"):
        export_archive(archive, str(tmp_path / "d"), int8=True, int8_method="static",
                       calibration_file=str(tmp_path / "absent.tsv"))
