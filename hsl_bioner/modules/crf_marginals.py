"""Posterior tag probabilities of a linear-chain CRF (forward-backward), batched.

AllenNLP's `ConditionalRandomField` gives the Viterbi path and the log-likelihood, not marginals;
the predictor needs them to attach a confidence to every tag and entity. One loop over positions
serves the whole batch (a loop per sentence cost more than the encoder on short inputs).

The recursion runs in the probability domain with per-step normalisation (the scaled
forward-backward algorithm), in float64, so that each step is a tiny matrix product and an
element-wise product. The log-domain form (`logsumexp` over a middle dimension at every step) is
mathematically the same but each of its reductions starts torch's intra-op thread pool: on a busy
2-core machine that cost ~1 ms per call, a fifth of the prediction time (benchmarks/README.md).
The log-domain form remains as the fallback for the (practically unreachable) case where float64
underflows: a step whose every allowed tag is more than ~700 nats below the best tag.
"""

import torch
from allennlp.modules import ConditionalRandomField

from hsl_bioner.modules.batched_crf import crf_potentials


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
    # Forbidden transitions at the Viterbi decoder's penalty, so that the marginals describe the
    # distribution the decoder actually searches.
    transitions, start, end = (p.detach() for p in crf_potentials(crf, constrained=True))
    marginals = _scaled_marginals(transitions, start, end, logits, mask)
    if not bool(torch.isfinite(marginals).all()):
        marginals = _log_domain_marginals(transitions, start, end, logits, mask)
    return marginals.to(logits.dtype)


def _scaled_marginals(
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    logits: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """Forward-backward on exp-scores, each step renormalised (its scale cancels out when the
    marginals of a position are normalised over the tags)."""
    batch, length, num_tags = logits.shape
    scores = logits.detach().double()
    # Emissions scaled so that the best tag of each position has weight 1.
    emissions = torch.exp(scores - scores.amax(dim=-1, keepdim=True))
    weights = torch.exp(transitions.double())  # forbidden: exp(-10000) == 0
    weights_t = weights.t().contiguous()
    ones = scores.new_ones((num_tags, 1))
    end_weights = torch.exp(end.double()).expand(batch, num_tags)

    def normalised(values: torch.Tensor) -> torch.Tensor:
        return values / (values @ ones)

    # alpha[i]: weights of the paths over positions 0..i, by the tag at i; frozen past a row's end.
    alphas = [normalised(torch.exp(start.double()) * emissions[:, 0])]
    for i in range(1, length):
        step = normalised((alphas[-1] @ weights) * emissions[:, i])
        alphas.append(torch.where(mask[:, i : i + 1], step, alphas[-1]))
    # beta[i]: weights of the continuations after i; at a row's last position, the end weights.
    betas = [end_weights]
    for i in range(length - 2, -1, -1):
        step = normalised((emissions[:, i + 1] * betas[-1]) @ weights_t)
        betas.append(torch.where(mask[:, i + 1 : i + 2], step, end_weights))
    betas.reverse()
    products = torch.stack(alphas, dim=1) * torch.stack(betas, dim=1)
    return products / products.sum(dim=-1, keepdim=True)


def _log_domain_marginals(
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    logits: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """The same marginals with `logsumexp` recursions (slower, never underflows)."""
    batch, length, num_tags = logits.shape
    logits = logits.detach().double()
    transitions, start = transitions.double(), start.double()
    end = end.double().expand(batch, num_tags)
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
