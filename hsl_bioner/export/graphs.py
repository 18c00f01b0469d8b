"""The torch modules that are exported to ONNX: the shared stack, and each group's upper stack.

Each takes and returns batch-first tensors with the calling convention of docs/export_format.md
(int64 ``input_ids``, ``attention_mask`` and ``token_type_ids`` ``[rows, length]``; float32
``hidden`` ``[rows, length, dim]``) and drives the `SplitTransformer`'s own modules through its
family's `embed` / `layer_state` / `run_layer` / `output`, so that the graphs compute exactly what
the torch model does. The per-batch layer state (XLNet: attention masks, relative positional
encoding, segment matrix; BERT: the extended attention mask) is rebuilt in every graph from
``attention_mask`` and ``token_type_ids``: it is cheap next to the layers, and passing it between
sessions would tie the runtime to one family's internals.
"""

from typing import Optional

import torch

from hsl_bioner.modules.split_transformer import SplitTransformer


class _Graph(torch.nn.Module):
    def __init__(self, split: SplitTransformer, uses_type_ids: bool) -> None:
        super().__init__()
        self.split = split
        self.uses_type_ids = uses_type_ids

    def _types(self, token_type_ids: torch.Tensor) -> Optional[torch.Tensor]:
        # As the torch embedder: all-zero type ids are fed as none (see uses_type_ids).
        return token_type_ids if self.uses_type_ids else None


class SharedGraph(_Graph):
    """Embeddings and the shared layers ``[0, k)``: pieces -> ``hidden`` ``[rows, length, dim]``.

    # Parameters

    split : `SplitTransformer`
        The model's encoder (in evaluation mode).
    uses_type_ids : `bool`
        Whether the torch model feeds the type ids to the encoder (false: they are all zero and
        fed as none, so the input is unused).
    """

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        family, base = self.split.family, self.split.base
        state = family.embed(base, input_ids, attention_mask, self._types(token_type_ids))
        for layer in self.split.lower_layers:
            state["hidden"] = family.run_layer(layer, state)
        return family.output(base, state["hidden"])


class GroupGraph(_Graph):
    """One group's upper layers ``[k, n)`` and its projection: ``hidden`` -> ``emissions``
    ``[rows, length, tags]`` (piece-level tag scores; the projection acts on each position, so
    reading them at a word's first piece gives the torch model's word-level scores).

    # Parameters

    split : `SplitTransformer`
        The model's encoder (in evaluation mode).
    group : `str`
        The group (the name of its upper stack; ignored when k = n).
    projection : `torch.nn.Linear`
        The group's head projection.
    uses_type_ids : `bool`
        As for `SharedGraph`.
    """

    def __init__(
        self,
        split: SplitTransformer,
        group: str,
        projection: torch.nn.Linear,
        uses_type_ids: bool,
    ) -> None:
        super().__init__(split, uses_type_ids)
        self.layers = list(split.upper_stacks[group].values()) if split.has_upper_layers else []
        self.projection = projection

    def forward(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        family, base = self.split.family, self.split.base
        if self.layers:
            state = family.layer_state(base, attention_mask, self._types(token_type_ids))
            state["hidden"] = family.from_batch_first(hidden)
            for layer in self.layers:
                state["hidden"] = family.run_layer(layer, state)
            hidden = family.output(base, state["hidden"])
        return self.projection(hidden)
