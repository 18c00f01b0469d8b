"""AdamW with layer-wise learning-rate decay over the split encoder."""

from typing import Any, Dict, List, Optional, Tuple

import torch
from allennlp.training.optimizers import AdamWOptimizer, Optimizer

from hsl_bioner.modules.split_transformer import EMBEDDINGS_REGEX, layer_index, layer_regex


@Optimizer.register("bioner_layerwise_adamw")
class LayerwiseAdamWOptimizer(AdamWOptimizer):
    """AdamW where encoder layer ``l`` of ``n`` learns at ``lr * layer_decay ** (n - 1 - l)``
    and the embeddings at ``lr * layer_decay ** n``: lower layers move less (the paper: lr 3e-5,
    decay 0.9 from the top layer down). The tagging heads learn at `head_lr`.

    The groups are generated from the model's parameter names, so the same config works for any
    encoder depth (24-layer XLNet-Large, 6-layer MiniLM, the 4-layer test fixture) and any split;
    AllenNLP's `parameter_groups` regexes would need the layer count written into the config.

    Registered as an `Optimizer` with name "bioner_layerwise_adamw".

    # Parameters

    model_parameters : `List[Tuple[str, torch.nn.Parameter]]`
        Supplied by the trainer.
    lr : `float`, optional (default = `3e-5`)
        Learning rate of the top encoder layer.
    layer_decay : `float`, optional (default = `0.9`)
        Factor between the learning rates of consecutive layers; 1.0 disables the decay.
    head_lr : `float`, optional (default = `None`)
        Learning rate of everything outside the encoder (projections, CRFs); `lr` if not given.
    betas, eps, weight_decay, amsgrad :
        As for AllenNLP's "adamw" (the paper: eps 1e-6).
    """

    def __init__(
        self,
        model_parameters: List[Tuple[str, torch.nn.Parameter]],
        lr: float = 3e-5,
        layer_decay: float = 0.9,
        head_lr: Optional[float] = None,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        layers = {layer_index(name) for name, _ in model_parameters} - {None}
        num_layers = max(layers) + 1 if layers else 0
        groups: List[Tuple[List[str], Dict[str, Any]]] = [
            ([layer_regex(layer)], {"lr": lr * layer_decay ** (num_layers - 1 - layer)})
            for layer in sorted(layers)
        ]
        groups.append(([EMBEDDINGS_REGEX], {"lr": lr * layer_decay**num_layers}))
        super().__init__(
            model_parameters=model_parameters,
            parameter_groups=groups,
            lr=head_lr if head_lr is not None else lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
        )
        # Multi-tensor updates: per-task upper stacks multiply the number of parameter tensors,
        # and one-tensor-at-a-time updates took a large share of an MTL-LS step on CPU.
        for group in self.param_groups:
            group["foreach"] = True
