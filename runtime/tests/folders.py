"""Valid exported folders (docs/export_format.md, format 1) built without torch, for the runtime's
tests.

`make_folder` writes what `allennlp bioner-export` writes, with the fixture encoders' real
tokenizers (fixtures/tiny_bert, fixtures/tiny_xlnet) and tiny ONNX graphs of the same calling
convention as exported ones, whose weights are random but seeded:

- ``shared.onnx``: embeddings of the pieces and their type ids, then `shared_layers` layers;
- ``group.<g>.onnx``: ``num_layers - shared_layers`` layers, then a projection to the group's tags.

A layer is ``tanh(h W + mean(h over the row's real pieces) U + b)``: like a transformer layer,
every piece depends on the whole row (so segments and row routing matter) and nothing depends on
padding. `reference_emissions` computes the same in numpy, for tests that check the runtime's
arithmetic rather than its consistency.

Needs numpy, onnx and tokenizers only (no pytest: other tools may build folders with it).
"""

import json
import shutil
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer

from hsl_bioner_runtime import __version__
from hsl_bioner_runtime.crf import CrfParameters
from hsl_bioner_runtime.folder import (
    CRF_FILE,
    FORMAT_VERSION,
    SHARED_GRAPH,
    TAGGER_CONFIG,
    TOKENIZER,
    group_graph_name,
    write_crfs,
    write_manifest,
)
from hsl_bioner_runtime.pieces import SpecialTokens
from hsl_bioner_runtime.tag_schemes import allowed_transitions
from hsl_bioner_runtime.text import TextTokenizer

ROOT = Path(__file__).resolve().parents[2]
TOKENIZERS = {
    "bert": ROOT / "fixtures" / "tiny_bert" / "tokenizer.json",
    "xlnet": ROOT / "fixtures" / "tiny_xlnet" / "tokenizer.json",
}
OPSET = 14
# Type ids go up to 2 (XLNet's <cls>).
TYPE_VOCABULARY = 3

DEFAULT_TASKS: Dict[str, Sequence[str]] = {
    "disease_a": ["Disease"],
    "disease_b": ["Disease"],
    "chem_a": ["Chemical"],
}


def make_folder(
    path: Union[str, Path],
    tasks: Mapping[str, Sequence[str]] = DEFAULT_TASKS,
    groups: Optional[Mapping[str, Sequence[str]]] = None,
    shared_layers: int = 1,
    num_layers: int = 2,
    family: str = "bert",
    max_length: Optional[int] = 512,
    label_encoding: str = "BIO",
    hidden_size: int = 8,
    uses_type_ids: bool = True,
    text_settings: Optional[Mapping[str, object]] = None,
    seed: int = 0,
) -> Path:
    """Writes a valid format-1 exported folder at `path` (created; must not exist or be empty)
    and returns it.

    # Parameters

    path : `str` or `Path`
        The folder to write.
    tasks : `Mapping[str, Sequence[str]]`, optional
        Task -> its entity types (default: disease_a and disease_b with Disease, chem_a with
        Chemical).
    groups : `Mapping[str, Sequence[str]]`, optional (default = a group per task, named after it)
        Group -> its tasks (every task in exactly one group); tasks of a group share its graph
        and CRF, whose tags are those of all its tasks' types.
    shared_layers : `int`, optional (default = `1`)
        Layers in shared.onnx (k; 0: the embeddings only).
    num_layers : `int`, optional (default = `2`)
        Layers in all (n >= k); each group graph has n - k.
    family : `str`, optional (default = `"bert"`)
        "bert" or "xlnet": whose fixture tokenizer (and so special tokens) the folder has.
    max_length : `int`, optional (default = `512`)
        The encoder's segment length (`None`: no folding).
    label_encoding : `str`, optional (default = `"BIO"`)
        "BIO" or "BIOUL".
    hidden_size : `int`, optional (default = `8`)
        Width of the hidden states.
    uses_type_ids : `bool`, optional (default = `True`)
        tagger.json's ``uses_type_ids``. The graphs read type ids either way; false means the
        runtime must feed zeros (as the torch model fed none), which tests can tell apart.
    text_settings : `Mapping`, optional (default = `TextTokenizer().settings()`)
        tagger.json's ``text``.
    seed : `int`, optional (default = `0`)
        Seed of every weight.
    """
    if family not in TOKENIZERS:
        raise ValueError(f"family must be one of {', '.join(TOKENIZERS)}, got {family!r}.")
    if not 0 <= shared_layers <= num_layers:
        raise ValueError(
            f"Need 0 <= shared_layers <= num_layers, got {shared_layers}, {num_layers}."
        )
    if groups is None:
        groups = {task: [task] for task in tasks}
    grouped = [task for members in groups.values() for task in members]
    if sorted(grouped) != sorted(tasks):
        raise ValueError(f"groups {dict(groups)} must hold every task of {list(tasks)} once.")
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise ValueError(f"{folder} is not empty.")
    random = numpy.random.default_rng(seed)

    shutil.copyfile(TOKENIZERS[family], folder / TOKENIZER)
    tokenizer = Tokenizer.from_file(str(TOKENIZERS[family]))
    vocabulary = tokenizer.get_vocab_size()
    embeddings = {
        "word_embeddings": _normal(random, (vocabulary, hidden_size), 1.0),
        "type_embeddings": _normal(random, (TYPE_VOCABULARY, hidden_size), 0.5),
    }
    _save(
        _shared_graph(embeddings, _layers(random, shared_layers, hidden_size)),
        folder / SHARED_GRAPH,
    )

    tags_of_group: Dict[str, List[str]] = {}
    crfs: Dict[str, CrfParameters] = {}
    for group, members in groups.items():
        types = list(dict.fromkeys(t for task in members for t in tasks[task]))
        prefixes = "BI" if label_encoding == "BIO" else "BILU"
        tags = ["O"] + [f"{prefix}-{t}" for t in types for prefix in prefixes]
        tags_of_group[group] = tags
        layers = _layers(random, num_layers - shared_layers, hidden_size)
        projection = (
            _normal(random, (hidden_size, len(tags)), 2.0),
            _normal(random, (len(tags),), 0.5),
        )
        _save(_group_graph(layers, projection), folder / group_graph_name(group))
        allowed = numpy.zeros((len(tags) + 2, len(tags) + 2), dtype=bool)
        for i, j in allowed_transitions(tags, label_encoding):
            allowed[i, j] = True
        crfs[group] = CrfParameters(
            tags=tuple(tags),
            transitions=_normal(random, (len(tags), len(tags)), 0.5),
            start=_normal(random, (len(tags),), 0.5),
            end=_normal(random, (len(tags),), 0.5),
            allowed=allowed,
        )
    write_crfs(folder / CRF_FILE, crfs)

    group_of_task = {task: group for group, members in groups.items() for task in members}
    config = {
        "format_version": FORMAT_VERSION,
        "encoder": {
            "family": family,
            "name": f"tiny_{family}",
            "num_layers": num_layers,
            "shared_layers": shared_layers,
            "hidden_size": hidden_size,
            "max_length": max_length,
            "uses_type_ids": uses_type_ids,
        },
        "special_tokens": SpecialTokens.from_tokenizer(tokenizer).to_dict(),
        "text": dict(text_settings) if text_settings is not None else TextTokenizer().settings(),
        "label_encoding": label_encoding,
        "tasks": {
            task: {"group": group_of_task[task], "types": list(types)}
            for task, types in tasks.items()
        },
        "groups": {
            group: {"graph": group_graph_name(group), "tags": tags}
            for group, tags in tags_of_group.items()
        },
        "precision": "fp32",
        "int8": None,
    }
    (folder / TAGGER_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    write_manifest(
        folder,
        None,
        {"hsl_bioner_runtime": __version__, "onnx": onnx.__version__, "opset": OPSET},
    )
    return folder


def reference_emissions(
    folder: Union[str, Path],
    group: str,
    input_ids: numpy.ndarray,
    attention_mask: numpy.ndarray,
    token_type_ids: numpy.ndarray,
) -> numpy.ndarray:
    """``[rows, length, tags]``: what shared.onnx then group.<group>.onnx compute, in numpy from
    the graphs' weights (the arithmetic `make_folder`'s graphs encode)."""
    folder = Path(folder)
    shared = _initializers(folder / SHARED_GRAPH)
    upper = _initializers(folder / group_graph_name(group))
    mask = attention_mask.astype(numpy.float32)[..., None]
    hidden = shared["word_embeddings"][input_ids] + shared["type_embeddings"][token_type_ids]
    for weights in (shared, upper):
        for layer in range(_count_layers(weights)):
            w, u, b = (weights[f"layer{layer}.{name}"] for name in "wub")
            mean = (hidden * mask).sum(axis=1, keepdims=True) / mask.sum(axis=1, keepdims=True)
            hidden = numpy.tanh(hidden @ w + mean @ u + b)
    return hidden @ upper["projection.w"] + upper["projection.b"]


Layer = Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]


def _normal(random: numpy.random.Generator, shape: Tuple[int, ...], scale: float) -> numpy.ndarray:
    return (random.standard_normal(shape) * scale).astype(numpy.float32)


def _layers(random: numpy.random.Generator, count: int, size: int) -> List[Layer]:
    scale = 1.0 / numpy.sqrt(size)
    return [
        (
            _normal(random, (size, size), 2 * scale),
            _normal(random, (size, size), scale),
            _normal(random, (size,), 0.1),
        )
        for _ in range(count)
    ]


def _inputs() -> List[onnx.ValueInfoProto]:
    return [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["rows", "length"])
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]


def _layer_nodes(
    layers: Sequence[Layer], hidden: str, initializers: List[onnx.TensorProto]
) -> Tuple[List[onnx.NodeProto], str]:
    """Nodes of `layers` applied to the value `hidden`; needs the values ``mask`` ([rows, length,
    1] float) and ``axis1`` (int64 [1]). Returns the nodes and the name of their output."""
    nodes = (
        [helper.make_node("ReduceSum", ["mask", "axis1"], ["count"], keepdims=1)] if layers else []
    )
    for i, (w, u, b) in enumerate(layers):
        names = {k: f"layer{i}.{k}" for k in "wub"}
        initializers += [numpy_helper.from_array(v, names[k]) for k, v in zip("wub", (w, u, b))]
        p = f"l{i}_"
        nodes += [
            helper.make_node("Mul", [hidden, "mask"], [p + "masked"]),
            helper.make_node("ReduceSum", [p + "masked", "axis1"], [p + "sum"], keepdims=1),
            helper.make_node("Div", [p + "sum", "count"], [p + "mean"]),
            helper.make_node("MatMul", [hidden, names["w"]], [p + "hw"]),
            helper.make_node("MatMul", [p + "mean", names["u"]], [p + "mu"]),
            helper.make_node("Add", [p + "hw", p + "mu"], [p + "sum2"]),
            helper.make_node("Add", [p + "sum2", names["b"]], [p + "pre"]),
            helper.make_node("Tanh", [p + "pre"], [p + "out"]),
        ]
        hidden = p + "out"
    return nodes, hidden


def _mask_nodes(initializers: List[onnx.TensorProto]) -> List[onnx.NodeProto]:
    initializers.append(numpy_helper.from_array(numpy.array([1], numpy.int64), "axis1"))
    initializers.append(numpy_helper.from_array(numpy.array([-1], numpy.int64), "last"))
    return [
        helper.make_node("Cast", ["attention_mask"], ["mask2d"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask2d", "last"], ["mask"]),
    ]


def _shared_graph(
    embeddings: Mapping[str, numpy.ndarray], layers: Sequence[Layer]
) -> onnx.GraphProto:
    initializers = [numpy_helper.from_array(v, k) for k, v in embeddings.items()]
    nodes = _mask_nodes(initializers) + [
        helper.make_node("Gather", ["word_embeddings", "input_ids"], ["words"]),
        helper.make_node("Gather", ["type_embeddings", "token_type_ids"], ["types"]),
        helper.make_node("Add", ["words", "types"], ["embedded"]),
    ]
    layer_nodes, last = _layer_nodes(layers, "embedded", initializers)
    nodes += layer_nodes + [helper.make_node("Identity", [last], ["hidden"])]
    output = helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["rows", "length", "dim"])
    return helper.make_graph(nodes, "shared", _inputs(), [output], initializers)


def _group_graph(
    layers: Sequence[Layer], projection: Tuple[numpy.ndarray, numpy.ndarray]
) -> onnx.GraphProto:
    initializers = [
        numpy_helper.from_array(projection[0], "projection.w"),
        numpy_helper.from_array(projection[1], "projection.b"),
    ]
    nodes = _mask_nodes(initializers)
    layer_nodes, last = _layer_nodes(layers, "hidden", initializers)
    nodes += layer_nodes + [
        helper.make_node("MatMul", [last, "projection.w"], ["projected"]),
        helper.make_node("Add", ["projected", "projection.b"], ["emissions"]),
    ]
    hidden = helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["rows", "length", "dim"])
    output = helper.make_tensor_value_info(
        "emissions", TensorProto.FLOAT, ["rows", "length", "tags"]
    )
    inputs = [hidden] + _inputs()[1:]
    return helper.make_graph(nodes, "group", inputs, [output], initializers)


def _save(graph: onnx.GraphProto, path: Path) -> None:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    # IR 8 (opset 14's era): readable by every onnxruntime the runtime supports.
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _initializers(path: Path) -> Dict[str, numpy.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}


def _count_layers(weights: Mapping[str, numpy.ndarray]) -> int:
    return sum(name.endswith(".w") and name.startswith("layer") for name in weights)
