"""Posterior tag probabilities of a linear-chain CRF (forward-backward), batched.

AllenNLP's `ConditionalRandomField` gives the Viterbi path and the log-likelihood, not marginals;
the predictor needs them to attach a confidence to every tag and entity. One loop over positions
serves the whole batch (a loop per sentence cost more than the encoder on short inputs).
"""

import torch
from allennlp.modules import ConditionalRandomField

# The same penalty AllenNLP's Viterbi decoding puts on forbidden transitions, so that the
# marginals describe the distribution the decoder actually searches.
_FORBIDDEN = -10000.0


def crf_marginals(
    crf: ConditionalRandomField, logits: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """``[batch, length, num_tags]`` marginal probabilities for tag scores ``[batch, length,
    num_tags]`` and a mask ``[batch, length]`` whose true values come first in each row; rows of
    padding get meaningless values."""
    batch, length, num_tags = logits.shape
    if length == 0:
        return logits.new_zeros((batch, 0, num_tags))
    mask = mask.bool()
    allowed = crf._constraint_mask.to(logits)
    start_tag, end_tag = num_tags, num_tags + 1
    transitions = crf.transitions * allowed[:num_tags, :num_tags] + _FORBIDDEN * (
        1 - allowed[:num_tags, :num_tags]
    )
    start = _FORBIDDEN * (1 - allowed[start_tag, :num_tags])
    end = _FORBIDDEN * (1 - allowed[:num_tags, end_tag])
    if crf.include_start_end_transitions:
        start = start + crf.start_transitions * allowed[start_tag, :num_tags]
        end = end + crf.end_transitions * allowed[:num_tags, end_tag]
    end = end.expand(batch, num_tags)

    # alpha[i]: log-sum of the scores of all paths over positions 0..i; frozen past a row's end.
    alphas = [start + logits[:, 0]]
    for i in range(1, length):
        step = torch.logsumexp(alphas[-1].unsqueeze(2) + transitions, dim=1) + logits[:, i]
        alphas.append(torch.where(mask[:, i : i + 1], step, alphas[-1]))
    # beta[i]: log-sum over the continuations after i; at a row's last position, the end score.
    betas = [end]
    for i in range(length - 2, -1, -1):
        step = torch.logsumexp(transitions + (logits[:, i + 1] + betas[-1]).unsqueeze(1), dim=2)
        betas.append(torch.where(mask[:, i + 1 : i + 2], step, end))
    betas.reverse()
    log_partition = torch.logsumexp(alphas[-1] + end, dim=1)
    scores = torch.stack(alphas, dim=1) + torch.stack(betas, dim=1)
    return torch.exp(scores - log_partition.view(batch, 1, 1))
