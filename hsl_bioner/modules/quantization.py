"""int8 inference for the split encoder: dynamic quantisation of its Linear layers.

Why dynamic quantisation and not ONNX Runtime: it needs no export of a model whose forward routes
rows through per-task stacks, no extra runtime, and keeps the model an ordinary AllenNLP model.
Accuracy-critical parts stay fp32: the embeddings, the projections and CRFs, and by default the
first two and the last encoder layer, the layers whose int8 versions cost the most accuracy in
our measurements on MiniLM NCBI-disease taggers (figures in benchmarks/README.md, "int8
accuracy"). XLNet's attention projections are plain parameters used in einsum, not Linear
modules, so for the XLNet family only the feed-forward blocks are quantised.
"""

import logging
from typing import Dict, Optional, Sequence

import torch
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

from hsl_bioner.modules.split_transformer import SplitTransformer, layer_index

logger = logging.getLogger(__name__)

# The layers whose int8 versions cost the most accuracy (see the module docstring).
DEFAULT_FP32_LAYERS = (0, 1, -1)


def quantize_split_transformer(
    split: SplitTransformer, fp32_layers: Optional[Sequence[int]] = None
) -> int:
    """Replaces, in place, the Linear modules of the encoder layers by dynamically quantised int8
    ones (per-channel weights), in the shared stack and in every upper stack alike.

    `fp32_layers` are layer indices left in fp32 (negative counts from the top, as in Python);
    the default keeps the first two and the last layer. Returns the number of Linear modules
    quantised."""
    keep = set(DEFAULT_FP32_LAYERS if fp32_layers is None else fp32_layers)
    keep = {index % split.num_layers for index in keep}
    spec: Dict[str, object] = {}
    for name, module in split.named_modules():
        layer = layer_index(name)
        if isinstance(module, torch.nn.Linear) and layer is not None and layer not in keep:
            spec[name] = per_channel_dynamic_qconfig
    if spec:
        quantize_dynamic(split, qconfig_spec=spec, dtype=torch.qint8, inplace=True)
    logger.info(
        "Quantised %d Linear modules to int8 (layers %s kept in fp32)", len(spec), sorted(keep)
    )
    return len(spec)
