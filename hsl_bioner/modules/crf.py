"""A linear-chain CRF constrained to a tag scheme: its parameters and training likelihood in torch;
its decoding in numpy, by `hsl_bioner_runtime.crf` (the code the exported runtime runs).

Why not AllenNLP's `ConditionalRandomField`: the transitions its tag scheme allows are a private
attribute (``_constraint_mask``), which the numpy decoder and the export must read; its likelihood
takes one CRF per call, so a batch that mixes groups with CRFs of their own (MTL-LS) would pay one
loop over positions per group; and it has no marginals. This module keeps what it can of it: the
parameter names and their initialisation, the constraints of its public `allowed_transitions`
(computed by `hsl_bioner_runtime.tag_schemes.allowed_transitions`, which the exported runtime and
its tests use too; a test checks that the two agree), and the log-likelihood it computes
(unconstrained, as AllenNLP trains).
"""

from typing import Dict, List, Sequence

import numpy
import torch

from hsl_bioner_runtime.crf import FORBIDDEN, CrfParameters, Tagging, decode
from hsl_bioner_runtime.tag_schemes import allowed_transitions


class LinearChainCrf(torch.nn.Module):
    """Transition scores between the tags of one tag vocabulary, plus start and end scores.

    Parameters (state-dict keys, AllenNLP's names): ``transitions`` ``[tags, tags]`` (from tag
    ``i`` to tag ``j``), ``start_transitions`` and ``end_transitions`` ``[tags]``. The allowed
    transitions are worked out from the tags and the scheme at construction and not stored.

    # Parameters

    labels : `Dict[int, str]`
        The tag vocabulary, index -> tag (a namespace's `get_index_to_token_vocabulary`).
    label_encoding : `str`
        The tag scheme that constrains decoding ("BIO" or "BIOUL"; see `allowed_transitions`).
    """

    def __init__(self, labels: Dict[int, str], label_encoding: str) -> None:
        super().__init__()
        self.tags = tuple(labels[index] for index in range(len(labels)))
        num_tags = len(self.tags)
        allowed = numpy.zeros((num_tags + 2, num_tags + 2), dtype=bool)
        for i, j in allowed_transitions(self.tags, label_encoding):
            allowed[i, j] = True
        self.allowed = allowed
        # Created and initialised in AllenNLP's order, so that a seed gives the same weights.
        self.transitions = torch.nn.Parameter(torch.empty(num_tags, num_tags))
        self.start_transitions = torch.nn.Parameter(torch.empty(num_tags))
        self.end_transitions = torch.nn.Parameter(torch.empty(num_tags))
        torch.nn.init.xavier_normal_(self.transitions)
        torch.nn.init.normal_(self.start_transitions)
        torch.nn.init.normal_(self.end_transitions)

    @property
    def num_tags(self) -> int:
        return len(self.tags)

    def decoding_parameters(self) -> CrfParameters:
        """The current parameters as numpy arrays, with the tag names and allowed transitions:
        what the numpy decoder takes (and what an export writes)."""

        def array(parameter: torch.Tensor) -> numpy.ndarray:
            return parameter.detach().cpu().numpy().copy()

        return CrfParameters(
            tags=self.tags,
            transitions=array(self.transitions),
            start=array(self.start_transitions),
            end=array(self.end_transitions),
            allowed=self.allowed,
        )

    def decode(
        self, emissions: torch.Tensor, mask: torch.Tensor, probabilities: bool = True
    ) -> List[Tagging]:
        """The best tags of each row of `emissions` ``[rows, words, tags]`` under `mask` ``[rows,
        words]`` (true values first in each row) and, with `probabilities`, the marginal
        probability of each; by `hsl_bioner_runtime.crf.decode` on detached numpy copies."""
        return decode(
            emissions.detach().cpu().float().numpy(),
            mask.sum(dim=1).cpu().numpy(),
            self.decoding_parameters(),
            probabilities=probabilities,
        )


def log_likelihood(
    crfs: Sequence[LinearChainCrf],
    emissions: Sequence[torch.Tensor],
    tags: Sequence[torch.Tensor],
    masks: Sequence[torch.Tensor],
) -> torch.Tensor:
    """The log-likelihood of the gold tags of rows that belong to different CRFs, in ONE loop over
    positions for all of them: ``emissions[c]`` ``[rows_c, words, tags_c]``, ``tags[c]`` and
    ``masks[c]`` ``[rows_c, words]`` (true values first in each row, the first one true) are the
    rows of ``crfs[c]``. Returns ``[sum of rows_c]``, the rows in that order; each value is what
    AllenNLP's `ConditionalRandomField.forward` gives for the row.

    Every row carries its own CRF's potentials; CRFs with fewer tags than the largest are padded
    with tags that no path can use (their scores are `FORBIDDEN`, which `exp` turns into an exact
    zero in float32)."""
    num_tags = max(crf.num_tags for crf in crfs)

    def pad(scores: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pad(scores, (0, num_tags - scores.size(-1)), value=FORBIDDEN)

    transitions = torch.stack([pad(pad(crf.transitions).t()).t() for crf in crfs])
    start = torch.stack([pad(crf.start_transitions) for crf in crfs])
    end = torch.stack([pad(crf.end_transitions) for crf in crfs])
    owner = torch.cat(
        [
            torch.full((scores.size(0),), index, dtype=torch.long, device=scores.device)
            for index, scores in enumerate(emissions)
        ]
    )
    return _log_likelihood(
        torch.cat([pad(scores) for scores in emissions]),
        torch.cat(list(tags)),
        torch.cat(list(masks)).bool(),
        transitions.index_select(0, owner),
        start.index_select(0, owner),
        end.index_select(0, owner),
    )


def _log_likelihood(
    logits: torch.Tensor,
    tags: torch.Tensor,
    mask: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """Per row: the gold path's score minus the log-sum over all paths, with per-row potentials
    ``[rows, tags, tags]``, ``[rows, tags]``, ``[rows, tags]``."""
    rows, length, _ = logits.shape
    index = torch.arange(rows, device=logits.device)

    # The gold path's score.
    emitted = logits.gather(2, tags.unsqueeze(2)).squeeze(2)
    score = start[index, tags[:, 0]] + (emitted * mask).sum(dim=1)
    if length > 1:
        moves = transitions[index.unsqueeze(1), tags[:, :-1], tags[:, 1:]]
        score = score + (moves * mask[:, 1:]).sum(dim=1)
    last_tags = tags[index, mask.sum(dim=1) - 1]
    score = score + end[index, last_tags]

    # The log-sum over all paths; alpha is frozen past a row's end.
    alpha = start + logits[:, 0]
    for i in range(1, length):
        step = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + logits[:, i]
        alpha = torch.where(mask[:, i : i + 1], step, alpha)
    return score - torch.logsumexp(alpha + end, dim=1)
