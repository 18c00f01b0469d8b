"""int8 versions of the exported graphs, by ONNX Runtime's quantisation.

Only MatMul and Gemm nodes inside encoder layers are quantised (int8 weights, per output
channel); the embeddings, the projections (tiny, and where an error goes straight into the CRF
scores) and the layers named by ``fp32_layers`` stay fp32. Two methods:

- ``dynamic`` (`quantize_dynamic`): weights quantised once; each activation's scale is computed at
  run time from the activation itself. Needs no data.
- ``static`` (`quantize_static`, QDQ): activation scales fixed in advance from calibration
  sentences (the archive's training sentences, or a file given at export), run through the fp32
  graphs.

The default, dynamic with layers 0 and -1 in fp32 (`DEFAULT_METHOD`, `DEFAULT_FP32_LAYERS`), is
the measured choice of benchmarks/README.md ("int8 export"), on a MiniLM NCBI-disease tagger:
it is the only variant measured within the 0.3 F1 budget on both the development and the test
set; every layer in int8 is faster still but over the budget; static quantisation (MinMax
calibration, QDQ) lost many times the budget, its fixed activation ranges clipping the outliers
of a transformer's activations, and was barely faster than fp32, so its need for calibration
data buys nothing.

Which nodes belong to layer i: torch 1.12's exporter names nodes by op type and number, not by
module, so a node's layer is read from the parameters it touches (`node_layers`).
"""

import logging
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

import numpy
import onnx
import onnxruntime
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)

from hsl_bioner.modules.split_transformer import layer_index
from hsl_bioner_runtime.pieces import PieceBatch

logger = logging.getLogger(__name__)

METHODS = ("dynamic", "static")
DEFAULT_METHOD = "dynamic"
DEFAULT_FP32_LAYERS = (0, -1)
QUANTIZED_OPS = ("MatMul", "Gemm")

# One graph input feed: input name -> array.
Feed = Dict[str, numpy.ndarray]


def node_layers(model: onnx.ModelProto) -> Dict[str, int]:
    """The encoder layer of each node inside one (node name -> layer index).

    A node that reads a parameter of layer i (a named initializer: biases, layer norms, XLNet's
    attention weights) is in layer i. Constant folding renames the transposed Linear weights
    (``onnx::MatMul_<n>``), so a MatMul or Gemm on such a weight takes the layer of the node
    that adds its bias. A node without parameters (attention scores, activations) takes the
    highest layer among the nodes that produce its inputs: within layer i, everything descends
    from layer i's projections. So a head's projection, whose bias is in no layer, is in none."""
    named = {init.name for init in model.graph.initializer}
    consumers: Dict[str, List[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def own_layer(node: onnx.NodeProto) -> Optional[int]:
        found = [layer_index(name) for name in node.input if name in named]
        found = [layer for layer in found if layer is not None]
        return max(found) if found else None

    layers: Dict[str, int] = {}
    of_value: Dict[str, int] = {}
    for node in model.graph.node:  # topologically sorted, as ONNX requires
        layer = own_layer(node)
        if layer is None and node.op_type in QUANTIZED_OPS:
            adders = [c for out in node.output for c in consumers.get(out, [])]
            by_bias = [own_layer(c) for c in adders if c.op_type == "Add"]
            by_bias = [found for found in by_bias if found is not None]
            layer = max(by_bias) if by_bias else None
        if layer is None and not any(name in named for name in node.input):
            upstream = [of_value[name] for name in node.input if name in of_value]
            layer = max(upstream) if upstream else None
        if layer is not None:
            layers[node.name] = layer
            for name in node.output:
                of_value[name] = layer
    return layers


def nodes_to_quantize(
    model: onnx.ModelProto, num_layers: int, fp32_layers: Sequence[int]
) -> List[str]:
    """The MatMul and Gemm nodes of the encoder layers not in `fp32_layers` (negative indices
    count from the top)."""
    keep = {index % num_layers for index in fp32_layers}
    layers = node_layers(model)
    return [
        node.name
        for node in model.graph.node
        if node.op_type in QUANTIZED_OPS
        and node.name in layers
        and layers[node.name] not in keep
    ]


class _Feeds(CalibrationDataReader):
    def __init__(self, feeds: Sequence[Feed]) -> None:
        self._feeds: Iterator[Feed] = iter(feeds)

    def get_next(self) -> Optional[Feed]:
        return next(self._feeds, None)


def quantize_graph(
    source: Path,
    target: Path,
    num_layers: int,
    *,
    method: str = DEFAULT_METHOD,
    fp32_layers: Sequence[int] = DEFAULT_FP32_LAYERS,
    calibration: Optional[Sequence[Feed]] = None,
) -> int:
    """Writes the int8 version of the graph `source` to `target` and returns the number of nodes
    quantised (0: the graph has no encoder layer outside `fp32_layers`, and is copied).
    `calibration`: the input feeds of the graph for ``static``."""
    if method not in METHODS:
        raise ValueError(f"int8 method must be one of {', '.join(METHODS)}, not {method!r}.")
    model = onnx.load(str(source))
    chosen = nodes_to_quantize(model, num_layers, fp32_layers)
    if not chosen:
        onnx.save(model, str(target))
        return 0
    common = dict(
        op_types_to_quantize=list(QUANTIZED_OPS),
        per_channel=True,
        weight_type=QuantType.QInt8,
        nodes_to_quantize=chosen,
    )
    if method == "dynamic":
        quantize_dynamic(source, target, **common)
    else:
        if not calibration:
            raise ValueError("static int8 quantisation needs calibration sentences.")
        quantize_static(
            source,
            target,
            _Feeds(calibration),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QInt8,
            extra_options={"ActivationSymmetric": True},
            **common,
        )
    logger.info("Quantised %d nodes of %s (%s)", len(chosen), source.name, method)
    return len(chosen)


def group_feeds(shared_graph: Path, feeds: Sequence[Feed]) -> List[Feed]:
    """The calibration feeds of a group graph: `feeds` of the shared graph with the fp32 shared
    graph's hidden states."""
    session = onnxruntime.InferenceSession(str(shared_graph), providers=["CPUExecutionProvider"])
    out = []
    for feed in feeds:
        (hidden,) = session.run(["hidden"], feed)
        out.append({"hidden": hidden, **{k: v for k, v in feed.items() if k != "input_ids"}})
    return out


def piece_feed(batch: PieceBatch) -> Feed:
    """The shared graph's inputs for a batch of sentences."""
    return {
        "input_ids": batch.token_ids,
        "attention_mask": batch.mask.astype(numpy.int64),
        "token_type_ids": batch.type_ids,
    }
