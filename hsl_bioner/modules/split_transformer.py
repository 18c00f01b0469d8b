"""A pre-trained transformer split at layer k into a shared lower stack and per-group upper stacks.

This is the encoder of hierarchical shared transfer learning (MTL-LS): the embeddings and layers
``[0, k)`` are shared by every task; layers ``[k, n)`` exist once per *stack* (a task, or a named
group of tasks), each copy initialised from the same pre-trained weights. The shared part runs once
per batch; a stack's upper layers run only on the rows routed to it.

Hugging Face models only run whole, so this module drives their embedding and layer modules
piecewise. How to do that differs per architecture family (see `_XLNetFamily` and `_BertFamily`);
everything else is family-agnostic.
"""

import copy
import logging
import math
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

import torch
from allennlp.common.checks import ConfigurationError
from transformers import AutoConfig, AutoModel, PreTrainedModel, XLNetModel

logger = logging.getLogger(__name__)

# Per-batch tensors that every layer of a family needs, plus the hidden states themselves.
LayerState = Dict[str, Optional[torch.Tensor]]
# Upper stack name -> the rows routed through it (`None`: every row).
RowsOfStack = Mapping[str, Optional[torch.Tensor]]

# The parameter-name layout of a SplitTransformer, the one place it is spelled out: `base.*` (the
# embeddings and whatever else the Hugging Face model keeps besides its layers),
# `lower_layers.{i}.*` (shared layer i < k) and `upper_stacks.{stack}.{i}.*` (the stack's layer
# i >= k). The optimizer, the quantisation and the archive initializer address parameters through
# the functions below; a name may carry any prefix (the path of the SplitTransformer in a model).
BASE, LOWER_LAYERS, UPPER_STACKS = "base", "lower_layers", "upper_stacks"
# Regexes for `re.search`, as AllenNLP's parameter groups and initializers use them.
EMBEDDINGS_REGEX = rf"(?:^|\.){BASE}\."
SHARED_REGEX = rf"(?:^|\.)(?:{BASE}|{LOWER_LAYERS})\."


def layer_regex(index: Optional[int] = None) -> str:
    """A regex of the parameters of encoder layer `index`, in the shared stack or in any upper
    stack; of every layer when `index` is None (the index is then its group 1)."""
    number = r"(\d+)" if index is None else str(index)
    return rf"(?:^|\.)(?:{LOWER_LAYERS}|{UPPER_STACKS}\.[^.]+)\.{number}\."


_LAYER = re.compile(layer_regex())
_SHARED = re.compile(SHARED_REGEX)


def layer_index(name: str) -> Optional[int]:
    """The encoder layer a parameter (or module) name belongs to, wherever the layer lives (shared
    or in an upper stack); None outside the layers."""
    match = _LAYER.search(name)
    return int(match.group(1)) if match else None


def is_shared_parameter(name: str) -> bool:
    """Whether a parameter belongs to the part every task shares: the embeddings and the lower
    layers (what MTL-LS copies from an MTL-XC model)."""
    return _SHARED.search(name) is not None


def check_stack_name(name: str) -> None:
    """Raises `ConfigurationError` unless `name` can name an upper stack (and a group's head): the
    layout above needs names without '.' and other than its own words."""
    if not isinstance(name, str) or not name or "." in name:
        raise ConfigurationError(
            f"Invalid stack (group) name {name!r}: names must be non-empty and contain no '.'."
        )
    if name in (BASE, LOWER_LAYERS, UPPER_STACKS):
        raise ConfigurationError(
            f"Invalid stack (group) name {name!r}: '{BASE}', '{LOWER_LAYERS}' and "
            f"'{UPPER_STACKS}' name parts of the encoder."
        )


class _XLNetFamily:
    """XLNet: relative attention. Hidden states are ``[seq, batch, dim]``; every layer needs the
    relative positional encoding and the attention masks that `XLNetModel.forward` builds, so we
    build them once per batch (`embed`) and hand them to every stack (`select` cuts rows out)."""

    name = "xlnet"  # as an export's tagger.json calls the family
    # Which dimension of each state tensor is the batch.
    batch_dims = {"hidden": 1, "attn_mask_h": 2, "seg_mat": 2, "pos_emb": 1}

    @staticmethod
    def strip_layers(model: XLNetModel) -> List[torch.nn.Module]:
        layers = list(model.layer)
        model.layer = torch.nn.ModuleList()
        return layers

    @staticmethod
    def embed(
        base: XLNetModel,
        token_ids: torch.Tensor,
        mask: torch.Tensor,
        type_ids: Optional[torch.Tensor],
    ) -> LayerState:
        # Mirrors XLNetModel.forward for fine-tuning: no memory, no permutation, no target mapping.
        state = _XLNetFamily.layer_state(base, mask, type_ids)
        state["hidden"] = base.dropout(base.word_embedding(token_ids.transpose(0, 1)))
        return state

    @staticmethod
    def layer_state(
        base: XLNetModel, mask: torch.Tensor, type_ids: Optional[torch.Tensor]
    ) -> LayerState:
        """What every layer needs besides the hidden states, from the batch's ``[batch, seq]``
        mask and type ids alone (so that an exported upper stack can rebuild it)."""
        qlen, bsz = mask.shape[1], mask.shape[0]
        dtype = base.word_embedding.weight.dtype
        input_mask = 1.0 - mask.transpose(0, 1).to(dtype)
        attn_mask = input_mask[None, :, :, None]
        if base.attn_type == "uni":
            attn_mask = attn_mask + base.create_mask(qlen, 0).to(attn_mask)[:, :, None, None]
        attn_mask = (attn_mask > 0).to(dtype)
        non_tgt_mask = -torch.eye(qlen, device=mask.device, dtype=dtype)
        non_tgt_mask = ((attn_mask + non_tgt_mask[:, :, None, None]) > 0).to(dtype)
        seg_mat = None
        if type_ids is not None:
            types = type_ids.transpose(0, 1)
            seg_mat = (types[:, None] != types[None, :]).long()
            seg_mat = torch.nn.functional.one_hot(seg_mat, num_classes=2).to(dtype)
        pos_emb = base.relative_positional_encoding(qlen, qlen, bsz=bsz).to(mask.device)
        return {"attn_mask_h": non_tgt_mask, "seg_mat": seg_mat, "pos_emb": base.dropout(pos_emb)}

    @staticmethod
    def run_layer(layer: torch.nn.Module, state: LayerState) -> torch.Tensor:
        output_h, _ = layer(
            state["hidden"],
            None,
            attn_mask_h=state["attn_mask_h"],
            attn_mask_g=None,
            r=state["pos_emb"],
            seg_mat=state["seg_mat"],
        )[:2]
        return output_h

    @staticmethod
    def output(base: XLNetModel, hidden: torch.Tensor) -> torch.Tensor:
        return base.dropout(hidden).transpose(0, 1)

    @staticmethod
    def from_batch_first(hidden: torch.Tensor) -> torch.Tensor:
        """``[batch, seq, dim]`` (as `output` gives them) -> the layers' layout."""
        return hidden.transpose(0, 1)


class _BertFamily:
    """BERT-like encoders (BERT, MiniLM, RoBERTa, ELECTRA): absolute positions added once by the
    embeddings, ``[batch, seq, dim]`` hidden states. The layers are called directly with the
    extended attention mask: feeding hidden states back through ``inputs_embeds`` would add the
    position embeddings a second time."""

    name = "bert"
    batch_dims = {"hidden": 0, "attention_mask": 0}

    @staticmethod
    def strip_layers(model: PreTrainedModel) -> List[torch.nn.Module]:
        layers = list(model.encoder.layer)
        model.encoder.layer = torch.nn.ModuleList()
        if getattr(model, "pooler", None) is not None:
            model.pooler = None  # unused by a tagger; its weights would get no gradient
        return layers

    @staticmethod
    def embed(
        base: PreTrainedModel,
        token_ids: torch.Tensor,
        mask: torch.Tensor,
        type_ids: Optional[torch.Tensor],
    ) -> LayerState:
        state = _BertFamily.layer_state(base, mask, type_ids)
        state["hidden"] = base.embeddings(input_ids=token_ids, token_type_ids=type_ids)
        return state

    @staticmethod
    def layer_state(
        base: PreTrainedModel, mask: torch.Tensor, type_ids: Optional[torch.Tensor]
    ) -> LayerState:
        """What every layer needs besides the hidden states: the extended attention mask."""
        return {"attention_mask": base.get_extended_attention_mask(mask.long(), mask.shape)}

    @staticmethod
    def run_layer(layer: torch.nn.Module, state: LayerState) -> torch.Tensor:
        return layer(state["hidden"], attention_mask=state["attention_mask"])[0]

    @staticmethod
    def output(base: PreTrainedModel, hidden: torch.Tensor) -> torch.Tensor:
        return hidden

    @staticmethod
    def from_batch_first(hidden: torch.Tensor) -> torch.Tensor:
        return hidden


def _family_of(model: PreTrainedModel):
    if isinstance(model, XLNetModel):
        return _XLNetFamily
    if hasattr(model, "embeddings") and hasattr(getattr(model, "encoder", None), "layer"):
        return _BertFamily
    raise ConfigurationError(
        f"Cannot split a {type(model).__name__}: hsl_bioner supports the XLNet family and "
        "BERT-like encoders (an `embeddings` module and an `encoder.layer` list: BERT, MiniLM, "
        "RoBERTa, ELECTRA)."
    )


def resolve_shared_layers(
    num_layers: int, shared_layers: Optional[int], slicing_rate: Optional[float]
) -> int:
    """The number k of shared layers from either a layer count or a slicing rate k / n.

    Neither given means every layer is shared (k = n). A rate must give a whole number of layers
    (the paper's rates 0.25 / 0.5 / 0.75 / 1.0 do for 24- and 12-layer encoders, not all for 6)."""
    if shared_layers is not None and slicing_rate is not None:
        raise ConfigurationError(
            f"Give either shared_layers ({shared_layers}) or slicing_rate ({slicing_rate}), "
            "not both."
        )
    if slicing_rate is not None:
        if not 0.0 <= slicing_rate <= 1.0:
            raise ConfigurationError(f"slicing_rate must lie in [0, 1], got {slicing_rate}.")
        exact = slicing_rate * num_layers
        shared_layers = round(exact)
        if not math.isclose(exact, shared_layers, abs_tol=1e-6):
            valid = ", ".join(f"{k / num_layers:g}" for k in range(num_layers + 1))
            raise ConfigurationError(
                f"slicing_rate {slicing_rate} x {num_layers} layers = {exact:g} is not a whole "
                "number "
                f"of layers. Valid rates for this encoder: {valid} (or give shared_layers)."
            )
    if shared_layers is None:
        return num_layers
    if not 0 <= shared_layers <= num_layers:
        raise ConfigurationError(
            f"shared_layers must lie in [0, {num_layers}] for this {num_layers}-layer encoder, "
            f"got {shared_layers}."
        )
    return shared_layers


class SplitTransformer(torch.nn.Module):
    """A Hugging Face encoder cut into a shared lower stack and one upper stack per name.

    Parameter names encode the layer index so that the optimizer (layer-wise learning-rate
    decay), the quantisation and initialisers can address layer ``i`` wherever it lives (see
    `layer_index`, `layer_regex` and `is_shared_parameter` above).

    # Parameters

    model_name : `str`
        A Hugging Face model name or a local folder (loaded with `AutoModel.from_pretrained`).
    upper_stacks : `Sequence[str]`
        Names of the upper stacks (one per task, or per named task group). Each gets its own copy
        of layers ``[k, n)``, initialised from the pre-trained weights. When k = n there are no
        upper layers and every stack name gets the shared output.
    shared_layers : `int`, optional (default = `None`)
        k, the number of shared lower layers.
    slicing_rate : `float`, optional (default = `None`)
        k / n, as in the paper; give this or `shared_layers`; neither means k = n.
    load_weights : `bool`, optional (default = `True`)
        Load the pre-trained weights; `False` builds the architecture with random weights (used when
        the weights come from an archive anyway).
    transformer_kwargs : `Dict[str, Any]`, optional (default = `None`)
        Extra arguments for `AutoModel.from_pretrained`.
    """

    def __init__(
        self,
        model_name: str,
        upper_stacks: Sequence[str],
        shared_layers: Optional[int] = None,
        slicing_rate: Optional[float] = None,
        load_weights: bool = True,
        transformer_kwargs: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__()
        if load_weights:
            base = AutoModel.from_pretrained(model_name, **(transformer_kwargs or {}))
        else:
            base = AutoModel.from_config(AutoConfig.from_pretrained(model_name))
        self.family = _family_of(base)
        self.config = base.config
        layers = self.family.strip_layers(base)
        self.num_layers = len(layers)
        self.shared_layers = resolve_shared_layers(self.num_layers, shared_layers, slicing_rate)
        self.base = base
        self.lower_layers = torch.nn.ModuleList(layers[: self.shared_layers])
        self.upper_stacks = torch.nn.ModuleDict()
        for name in upper_stacks:
            check_stack_name(name)
        if self.shared_layers < self.num_layers:
            if not upper_stacks:
                raise ConfigurationError("upper_stacks must name at least one stack when k < n.")
            for name in upper_stacks:
                self.upper_stacks[name] = torch.nn.ModuleDict(
                    {
                        str(i): copy.deepcopy(layers[i])
                        for i in range(self.shared_layers, self.num_layers)
                    }
                )
        logger.info(
            "Split %s (%d layers): %d shared, %d per stack for %d stacks",
            model_name,
            self.num_layers,
            self.shared_layers,
            self.num_layers - self.shared_layers,
            len(self.upper_stacks),
        )

    @property
    def has_upper_layers(self) -> bool:
        return self.shared_layers < self.num_layers

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.base.get_input_embeddings()

    def forward(
        self,
        token_ids: torch.Tensor,
        mask: torch.Tensor,
        type_ids: Optional[torch.Tensor],
        rows_of_stack: RowsOfStack,
    ) -> Dict[str, torch.Tensor]:
        """Runs the shared layers once on every row, then each stack's upper layers on its rows.

        `rows_of_stack` maps a stack name to the indices of the rows routed through it (None:
        every row); a row may go through several stacks (tagging with several heads costs
        (k + T (n - k)) / n of one full pass per head). Returns, per stack, the hidden states of
        its rows in that order, ``[len(rows), seq, dim]``. With k = n every stack gets the shared
        output (of its rows)."""
        state = self._run_lower(token_ids, mask, type_ids)
        if not self.has_upper_layers:
            hidden = self.family.output(self.base, state["hidden"])
            return {
                name: hidden if rows is None else hidden.index_select(0, rows)
                for name, rows in rows_of_stack.items()
            }
        unknown = sorted(set(rows_of_stack) - set(self.upper_stacks))
        if unknown:
            raise ConfigurationError(
                f"No upper stack named {', '.join(unknown)}; this encoder has "
                f"{', '.join(self.upper_stacks)}."
            )
        return {
            name: self._run_upper(name, dict(state) if rows is None else self._select(state, rows))
            for name, rows in rows_of_stack.items()
        }

    def _run_lower(
        self, token_ids: torch.Tensor, mask: torch.Tensor, type_ids: Optional[torch.Tensor]
    ) -> LayerState:
        state = self.family.embed(self.base, token_ids, mask, type_ids)
        for layer in self.lower_layers:
            state["hidden"] = self.family.run_layer(layer, state)
        return state

    def _run_upper(self, name: str, state: LayerState) -> torch.Tensor:
        for layer in self.upper_stacks[name].values():
            state["hidden"] = self.family.run_layer(layer, state)
        return self.family.output(self.base, state["hidden"])

    def _select(self, state: LayerState, rows: torch.LongTensor) -> LayerState:
        return {
            key: None if value is None else value.index_select(self.family.batch_dims[key], rows)
            for key, value in state.items()
        }
