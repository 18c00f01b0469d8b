"""Posterior tag probabilities of a linear-chain CRF (forward-backward).

AllenNLP's `ConditionalRandomField` gives the Viterbi path and the log-likelihood, not marginals;
the predictor needs them to attach a confidence to every tag and entity.
"""

import torch
from allennlp.modules import ConditionalRandomField

# The same penalty AllenNLP's Viterbi decoding puts on forbidden transitions, so that the
# marginals describe the distribution the decoder actually searches.
_FORBIDDEN = -10000.0


def crf_marginals(crf: ConditionalRandomField, logits: torch.Tensor) -> torch.Tensor:
    """``[length, num_tags]`` marginal probabilities for the tag scores of one sequence."""
    length, num_tags = logits.shape
    if length == 0:
        return logits.new_zeros((0, num_tags))
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

    alpha = [start + logits[0]]
    for i in range(1, length):
        alpha.append(torch.logsumexp(alpha[-1].unsqueeze(1) + transitions, dim=0) + logits[i])
    beta = [end]
    for i in range(length - 1, 0, -1):
        beta.append(torch.logsumexp(transitions + (logits[i] + beta[-1]).unsqueeze(0), dim=1))
    beta.reverse()
    log_partition = torch.logsumexp(alpha[-1] + end, dim=0)
    return torch.exp(torch.stack(alpha) + torch.stack(beta) - log_partition)
