"""Word vectors from a split transformer: the input side of the hierarchical shared tagger."""

from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np
import torch
from allennlp.modules.token_embedders import TokenEmbedder

from hsl_bioner.encoder_files import encoder_source
from hsl_bioner.modules.split_transformer import RowsOfStack, SplitTransformer
from hsl_bioner_runtime.pieces import FoldLayout


@TokenEmbedder.register("bioner_split_transformer")
class SplitTransformerEmbedder(TokenEmbedder):
    """Embeds the word pieces of the "bioner_pieces" indexer with a `SplitTransformer` and returns
    one vector per word, read at the word's first piece (the paper's "label gather"), for each
    upper stack the caller routes instances through.

    The folded piece sequences of a batch are laid out as encoder rows by
    `hsl_bioner_runtime.pieces.FoldLayout` (the layout the exported runtime uses): each sentence
    becomes its segments of at most `max_length` pieces, no row of padding only, and a word's
    vector is read at its first piece, ``[batch, words, dim]`` whatever the length of a word in
    pieces (AllenNLP's `PretrainedTransformerMismatchedEmbedder` pools over a
    ``[batch, words, longest word in pieces, dim]`` tensor, and runs one monolithic model that
    cannot route rows through per-task upper layers).

    When the model is loaded from an archive that holds the encoder's files (see
    `hsl_bioner.encoder_files`), its configuration comes from there and no pre-trained weights are
    read (the archive's weights replace them).

    Registered as a `TokenEmbedder` with name "bioner_split_transformer".

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
        Segment length of the folded piece sequences; must equal the indexer's `max_length`. The
        paper used 512.
    train_parameters : `bool`, optional (default = `True`)
        Fine-tune the encoder; `False` freezes it.
    eval_mode : `bool`, optional (default = `False`)
        Keep the encoder in evaluation mode (no dropout) even while training.
    load_weights : `bool`, optional (default = `True`)
        Load pre-trained weights; `False` when they will come from an archive anyway.
    tokenizer_kwargs : `Dict[str, Any]`, optional (default = `None`)
        The indexer's `tokenizer_kwargs`, for the tokenizer files written into the archive.
    transformer_kwargs : `Dict[str, Any]`, optional (default = `None`)
        Extra arguments for `AutoModel.from_pretrained`.
    serialization_dir : `str`, optional (default = `None`)
        Supplied by AllenNLP (the run's folder when training, the extracted archive when
        loading); not a config key.
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
        serialization_dir: Optional[str] = None,
    ) -> None:
        super().__init__()
        self.model_name = model_name
        self.encoder_source, archived = encoder_source(model_name, serialization_dir)
        self.tokenizer_kwargs = tokenizer_kwargs
        self.transformer_model = SplitTransformer(
            self.encoder_source,
            upper_stacks=upper_stacks,
            shared_layers=shared_layers,
            slicing_rate=slicing_rate,
            load_weights=load_weights and not archived,
            transformer_kwargs=transformer_kwargs,
        )
        self.output_dim = self.transformer_model.config.hidden_size
        self.max_length = max_length
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

    def get_output_dim(self) -> int:
        return self.output_dim

    def train(self, mode: bool = True) -> "SplitTransformerEmbedder":
        super().train(mode)
        if self.eval_mode:
            self.transformer_model.eval()
        return self

    def forward(  # type: ignore[override]
        self,
        token_ids: torch.LongTensor,
        type_ids: torch.LongTensor,
        wordpiece_mask: torch.BoolTensor,
        first_piece: torch.LongTensor,
        mask: torch.BoolTensor,
        *,
        rows_of_stack: RowsOfStack,
    ) -> Dict[str, torch.Tensor]:
        """The indexer's tensors (``[batch, pieces]`` folded piece sequences, ``[batch, words]``
        first pieces and word mask); `rows_of_stack` maps each upper stack to the INSTANCES routed
        through it (`None` = all). Returns, per stack, the word vectors of its instances in that
        order, ``[len(instances), words, dim]``; padding words are zero."""
        lengths = wordpiece_mask.sum(-1).cpu().numpy()
        layout = FoldLayout(lengths, self.max_length, padded_length=token_ids.size(1))
        device = token_ids.device
        source = torch.from_numpy(layout.source).to(device)
        row_mask = torch.from_numpy(layout.mask).to(device)
        ids = token_ids.reshape(-1)[source].masked_fill(~row_mask, 0)
        types = type_ids.reshape(-1)[source].masked_fill(~row_mask, 0)
        # As AllenNLP's embedder: all-zero type ids are no type ids (BERT gives both the same
        # vectors; XLNet's <cls> has type 2, so its segment attention is kept).
        types_or_none = None if types.max() == 0 else types

        instances = self._instances(rows_of_stack)
        rows = {
            stack: None if chosen is None else torch.from_numpy(layout.rows(chosen)).to(device)
            for stack, chosen in instances.items()
        }
        hidden = self.transformer_model(ids, row_mask, types_or_none, rows)

        first = first_piece.cpu().numpy()
        words = {}
        for stack, chosen in instances.items():
            index = torch.from_numpy(layout.word_index(first, chosen)).to(device)
            word_mask = mask if chosen is None else mask[torch.from_numpy(chosen).to(device)]
            flat = hidden[stack].reshape(-1, hidden[stack].size(-1))
            words[stack] = flat[index] * word_mask.unsqueeze(-1)
        return words

    @staticmethod
    def _instances(rows_of_stack: RowsOfStack) -> Mapping[str, Optional[np.ndarray]]:
        return {
            stack: None if chosen is None else chosen.cpu().numpy()
            for stack, chosen in rows_of_stack.items()
        }
