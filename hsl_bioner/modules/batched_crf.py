"""Linear-chain CRF likelihood and Viterbi decoding for a batch whose rows belong to different CRFs.

AllenNLP's `ConditionalRandomField` holds one transition matrix: a batch that mixes tasks with
their own CRFs (MTL-LS) has to be cut into one sub-batch per CRF, each paying its own loop over
positions, and its `viterbi_tags` runs a further loop over positions per sentence. Here every row
carries its own potentials (gathered from the stacked CRFs of its group), so ONE loop over
positions serves the whole batch, whatever the mix of tasks. The results are those of AllenNLP's
CRF: `log_likelihood` is its `forward` per row (constraints ignored, as AllenNLP trains), and
`viterbi` its `viterbi_tags` (forbidden transitions at AllenNLP's penalty).

CRFs with fewer tags than the largest are padded with tags that no path can use: their emission
and transition scores are `FORBIDDEN`, which `exp` turns into an exact zero in float32.
"""

from typing import List, Sequence, Tuple

import numpy
import torch
from allennlp.modules import ConditionalRandomField

# AllenNLP's penalty on forbidden transitions in Viterbi decoding.
FORBIDDEN = -10000.0

Potentials = Tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def crf_potentials(crf: ConditionalRandomField, constrained: bool) -> Potentials:
    """``(transitions [tags, tags], start [tags], end [tags])`` of `crf`, with gradients. With
    `constrained`, forbidden transitions (and starts and ends) score `FORBIDDEN`, as AllenNLP
    decodes; without, the raw parameters, as AllenNLP computes the likelihood."""
    num_tags = crf.num_tags
    start = crf.transitions.new_zeros(num_tags)
    end = crf.transitions.new_zeros(num_tags)
    if crf.include_start_end_transitions:
        start, end = crf.start_transitions, crf.end_transitions
    if not constrained:
        return crf.transitions, start, end
    allowed = crf._constraint_mask.to(crf.transitions)
    start_tag, end_tag = num_tags, num_tags + 1

    def constrain(scores: torch.Tensor, allowed_here: torch.Tensor) -> torch.Tensor:
        return scores * allowed_here + FORBIDDEN * (1 - allowed_here)

    return (
        constrain(crf.transitions, allowed[:num_tags, :num_tags]),
        constrain(start, allowed[start_tag, :num_tags]),
        constrain(end, allowed[:num_tags, end_tag]),
    )


def stacked_potentials(crfs: Sequence[ConditionalRandomField], constrained: bool) -> Potentials:
    """The potentials of several CRFs stacked along a new first dimension, padded to the largest
    number of tags: ``[crfs, tags, tags]``, ``[crfs, tags]``, ``[crfs, tags]``."""
    num_tags = max(crf.num_tags for crf in crfs)
    transitions, starts, ends = [], [], []
    for crf in crfs:
        crf_transitions, start, end = crf_potentials(crf, constrained)
        transitions.append(pad_tags(pad_tags(crf_transitions, num_tags).t(), num_tags).t())
        starts.append(pad_tags(start, num_tags))
        ends.append(pad_tags(end, num_tags))
    return torch.stack(transitions), torch.stack(starts), torch.stack(ends)


def pad_tags(logits: torch.Tensor, num_tags: int) -> torch.Tensor:
    """Tag scores ``[..., tags]`` padded to `num_tags` with unusable (`FORBIDDEN`) tags."""
    return torch.nn.functional.pad(logits, (0, num_tags - logits.size(-1)), value=FORBIDDEN)


def log_likelihood(
    logits: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, potentials: Potentials
) -> torch.Tensor:
    """``[batch]`` log-likelihood of the gold `tags` ``[batch, length]`` under tag scores `logits`
    ``[batch, length, tags]``, `mask` ``[batch, length]`` (true values first in each row, the
    first one true) and per-row `potentials` ``([batch, tags, tags], [batch, tags], [batch,
    tags])``."""
    transitions, start, end = potentials
    batch, length, _ = logits.shape
    mask = mask.bool()
    rows = torch.arange(batch, device=logits.device)

    # The gold path's score.
    emitted = logits.gather(2, tags.unsqueeze(2)).squeeze(2)
    score = start[rows, tags[:, 0]] + (emitted * mask).sum(dim=1)
    if length > 1:
        moves = transitions[rows.unsqueeze(1), tags[:, :-1], tags[:, 1:]]
        score = score + (moves * mask[:, 1:]).sum(dim=1)
    last_tags = tags[rows, mask.sum(dim=1) - 1]
    score = score + end[rows, last_tags]

    # The log-sum over all paths; alpha is frozen past a row's end.
    alpha = start + logits[:, 0]
    for i in range(1, length):
        step = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + logits[:, i]
        alpha = torch.where(mask[:, i : i + 1], step, alpha)
    return score - torch.logsumexp(alpha + end, dim=1)


def viterbi(
    logits: torch.Tensor, mask: torch.Tensor, potentials: Potentials
) -> List[Tuple[List[int], float]]:
    """The best path and its score for each row, as AllenNLP's `viterbi_tags` (no top-k); inputs
    as `log_likelihood` (constrained potentials to honour the tag scheme). Paths stop at each
    row's length."""
    transitions, start, end = (p.detach() for p in potentials)
    logits = logits.detach()
    batch, length, num_tags = logits.shape
    if length == 0:
        return [([], 0.0) for _ in range(batch)]
    mask = mask.bool()
    lengths = mask.sum(dim=1).tolist()
    keep = torch.arange(num_tags, device=logits.device).expand(batch, num_tags)
    score = start + logits[:, 0]
    backpointers = []
    for i in range(1, length):
        best, previous = (score.unsqueeze(2) + transitions).max(dim=1)
        step = mask[:, i : i + 1]
        score = torch.where(step, best + logits[:, i], score)
        # Past a row's end the tag stays as it was, so backtracking lands on its last tag.
        backpointers.append(torch.where(step, previous, keep))
    final, last = (score + end).max(dim=1)
    pointers = torch.stack(backpointers).cpu().numpy() if backpointers else None
    tags = numpy.empty((length, batch), dtype=numpy.int64)
    tags[-1] = last.cpu().numpy()
    for i in range(length - 2, -1, -1):
        tags[i] = pointers[i][numpy.arange(batch), tags[i + 1]]
    return [
        (tags[: lengths[row], row].tolist(), float(final[row])) for row in range(batch)
    ]
