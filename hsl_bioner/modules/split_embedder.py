"""Word vectors from a split transformer: the input side of the hierarchical shared tagger."""

from typing import Any, Dict, Mapping, Optional, Sequence

import torch
from allennlp.data.tokenizers import PretrainedTransformerTokenizer
from allennlp.modules.token_embedders import PretrainedTransformerEmbedder, TokenEmbedder
from allennlp.nn.util import batched_index_select

from hsl_bioner.modules.split_transformer import SplitTransformer


@TokenEmbedder.register("split_transformer_mismatched")
class SplitTransformerEmbedder(PretrainedTransformerEmbedder):
    """Embeds the word pieces of `PretrainedTransformerMismatchedIndexer` with a `SplitTransformer`
    and returns one vector per word, read at the word's first piece (the paper's "label gather").

    Why not AllenNLP's `PretrainedTransformerMismatchedEmbedder`: it runs one monolithic model, so
    it cannot route rows through per-task upper layers, and its pooling materialises a
    ``[batch, words, longest word in pieces, dim]`` tensor, which one garbage token hundreds of
    pieces long blows up; reading the first piece costs ``[batch, words, dim]`` whatever the input.
    We inherit from `PretrainedTransformerEmbedder` to reuse its folding of inputs longer than
    `max_length` into segments and its unfolding afterwards (special tokens are handled from the
    tokenizer, so XLNet's trailing ``<sep> <cls>`` work as BERT's leading ``[CLS]`` do); its
    constructor is not called because it would load and cache a second, unsplit copy of the model.

    Registered as a `TokenEmbedder` with name "split_transformer_mismatched".

    # Parameters

    model_name : `str`
        Hugging Face name or local folder of the encoder; must match the indexer's `model_name`.
    upper_stacks : `Sequence[str]`, optional (default = `()`)
        Names of the per-task (or per-group) upper stacks; see `SplitTransformer`.
    shared_layers : `int`, optional (default = `None`)
        k, the number of shared lower layers. Give this or `slicing_rate`; neither means k = n.
    slicing_rate : `float`, optional (default = `None`)
        k / n, the paper's slicing rate.
    max_length : `int`, optional (default = `None`)
        Longer piece sequences are folded into segments of this length, each run separately; must
        equal the indexer's `max_length`. The paper used 512.
    train_parameters : `bool`, optional (default = `True`)
        Fine-tune the encoder; `False` freezes it.
    eval_mode : `bool`, optional (default = `False`)
        Keep the encoder in evaluation mode (no dropout) even while training.
    load_weights : `bool`, optional (default = `True`)
        Load pre-trained weights; `False` when they will come from an archive anyway.
    tokenizer_kwargs : `Dict[str, Any]`, optional (default = `None`)
        Extra arguments for the tokenizer; must match the indexer's.
    transformer_kwargs : `Dict[str, Any]`, optional (default = `None`)
        Extra arguments for `AutoModel.from_pretrained`.
    """

    def __init__(
        self,
        model_name: str,
        upper_stacks: Sequence[str] = (),
        shared_layers: Optional[int] = None,
        slicing_rate: Optional[float] = None,
        max_length: Optional[int] = None,
        train_parameters: bool = True,
        eval_mode: bool = False,
        load_weights: bool = True,
        tokenizer_kwargs: Optional[Dict[str, Any]] = None,
        transformer_kwargs: Optional[Dict[str, Any]] = None,
    ) -> None:
        TokenEmbedder.__init__(self)
        self.model_name = model_name
        self.transformer_model = SplitTransformer(
            model_name,
            upper_stacks=upper_stacks,
            shared_layers=shared_layers,
            slicing_rate=slicing_rate,
            load_weights=load_weights,
            transformer_kwargs=transformer_kwargs,
        )
        self.config = self.transformer_model.config
        self.output_dim = self.config.hidden_size
        self._max_length = max_length
        self._scalar_mix = None
        tokenizer = PretrainedTransformerTokenizer(model_name, tokenizer_kwargs=tokenizer_kwargs)
        self._num_added_start_tokens = len(tokenizer.single_sequence_start_tokens)
        self._num_added_end_tokens = len(tokenizer.single_sequence_end_tokens)
        self._num_added_tokens = self._num_added_start_tokens + self._num_added_end_tokens
        self.train_parameters = train_parameters
        if not train_parameters:
            for param in self.transformer_model.parameters():
                param.requires_grad = False
        self.eval_mode = eval_mode
        if eval_mode:
            self.transformer_model.eval()

    @property
    def split(self) -> SplitTransformer:
        return self.transformer_model

    def forward(  # type: ignore[override]
        self,
        token_ids: torch.LongTensor,
        mask: torch.BoolTensor,
        offsets: torch.LongTensor,
        wordpiece_mask: torch.BoolTensor,
        type_ids: Optional[torch.LongTensor] = None,
        segment_concat_mask: Optional[torch.BoolTensor] = None,
        *,
        rows_of_stack: Mapping[str, Optional[torch.LongTensor]],
    ) -> Dict[str, torch.Tensor]:
        """Shapes as for `PretrainedTransformerMismatchedEmbedder`; `rows_of_stack` maps each
        upper stack to the rows (instances) routed through it (None: every row), as for
        `SplitTransformer.forward`. Returns, per stack, the word vectors of its rows in that
        order, ``[len(rows), words, dim]``; padding words are zero."""
        if type_ids is not None and type_ids.max() == 0:
            type_ids = None
        batch_size, num_pieces = token_ids.size()
        fold = self._max_length is not None and num_pieces > self._max_length
        transformer_mask = segment_concat_mask if self._max_length is not None else wordpiece_mask
        if fold:
            token_ids, transformer_mask, type_ids = self._fold_long_sequences(
                token_ids, transformer_mask, type_ids
            )
        segments = token_ids.size(0) // batch_size
        # The segments of row r are rows r * segments ... r * segments + segments - 1.
        each_segment = torch.arange(segments, device=token_ids.device)
        segment_rows = {
            stack: None if rows is None else (rows.unsqueeze(1) * segments + each_segment).flatten()
            for stack, rows in rows_of_stack.items()
        }
        # Words the tokenizer turned into no piece at all have offset -1: read piece 0, then zero.
        first_piece = offsets[..., 0].clamp(min=0)
        has_piece = ((offsets[..., 0] >= 0) & mask).unsqueeze(-1)
        hidden = self.transformer_model(token_ids, transformer_mask, type_ids, segment_rows)
        words = {}
        for stack, rows in rows_of_stack.items():
            pieces = hidden[stack]
            if fold:
                pieces = self._unfold_long_sequences(
                    pieces,
                    _rows(transformer_mask, segment_rows[stack]),
                    batch_size if rows is None else len(rows),
                    num_pieces,
                )
            words[stack] = batched_index_select(
                pieces.contiguous(), _rows(first_piece, rows)
            ) * _rows(has_piece, rows)
        return words


def _rows(tensor: torch.Tensor, rows: Optional[torch.LongTensor]) -> torch.Tensor:
    return tensor if rows is None else tensor.index_select(0, rows)
