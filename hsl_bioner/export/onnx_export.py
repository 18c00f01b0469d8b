"""torch -> ONNX for the graphs of `hsl_bioner.export.graphs`: opset 14, evaluation mode, dynamic
``rows`` and ``length`` axes, the input and output names of docs/export_format.md."""

import io
import warnings
from pathlib import Path
from typing import Dict, Sequence

import onnx
import torch

# The highest opset torch 1.12's exporter writes that onnxruntime runs everywhere we ship.
OPSET = 14
PIECE_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
GROUP_INPUTS = ("hidden", "attention_mask", "token_type_ids")


def export_graph(
    module: torch.nn.Module,
    inputs: Dict[str, torch.Tensor],
    output_name: str,
    path: Path,
) -> None:
    """Traces `module` on `inputs` (keyword order = the graph's input order) and writes it to
    `path`. Every ``[rows, length, ...]`` tensor gets the dynamic axes ``rows`` and ``length``.

    torch's exporter drops inputs that the graph does not read (BERT's type ids when the model
    feeds none; every input but ``hidden`` of a projection-only group graph); they are put back
    as declared but unread inputs, so that every graph keeps one calling convention."""
    axes = {name: {0: "rows", 1: "length"} for name in [*inputs, output_name]}
    module.eval()
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # Tracer warnings about Python ints taken from shapes: the shapes are dynamic axes.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            module,
            tuple(inputs.values()),
            buffer,
            input_names=list(inputs),
            output_names=[output_name],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
        )
    model = onnx.load_from_string(buffer.getvalue())
    _restore_inputs(model, list(inputs), inputs)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _restore_inputs(
    model: onnx.ModelProto, names: Sequence[str], inputs: Dict[str, torch.Tensor]
) -> None:
    present = {value.name: value for value in model.graph.input}
    ordered = []
    for name in names:
        if name in present:
            ordered.append(present[name])
            continue
        tensor = inputs[name]
        element = onnx.TensorProto.INT64 if tensor.dtype == torch.int64 else onnx.TensorProto.FLOAT
        shape = ["rows", "length", *tensor.shape[2:]]
        ordered.append(onnx.helper.make_tensor_value_info(name, element, shape))
    del model.graph.input[:]
    model.graph.input.extend(ordered)
