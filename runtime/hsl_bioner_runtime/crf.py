"""Decoding of a linear-chain CRF in numpy: constrained Viterbi paths and tag marginals.

Both front doors decode with these functions: the AllenNLP plugin (its torch CRF module hands
detached emission scores to them; it adds only the training likelihood) and the exported runtime
(parameters loaded from the exported folder). A tag scheme's constraints (e.g. BIO: no ``I-X``
after ``O``) are honoured as AllenNLP decodes them: a forbidden transition, start or end scores
`FORBIDDEN`, so that the results equal AllenNLP's `ConditionalRandomField.viterbi_tags`.

Every function takes a batch of emission scores ``[rows, words, tags]`` and each row's length
(the number of its words; positions beyond it are padding and ignored), and loops once over the
positions for the whole batch.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

import numpy

# AllenNLP's penalty on forbidden transitions in Viterbi decoding; exp(FORBIDDEN) is an exact 0
# in float32 and float64.
FORBIDDEN = -10000.0

Potentials = Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]


@dataclass(frozen=True, eq=False)
class CrfParameters:
    """The parameters of one linear-chain CRF, and the transitions its tag scheme allows.

    # Parameters

    tags : `Tuple[str, ...]`
        Tag names, in the order of the tag dimension of the emission scores.
    transitions : `numpy.ndarray`
        ``[tags, tags]`` score of moving from tag ``i`` to tag ``j``.
    start : `numpy.ndarray`
        ``[tags]`` score of starting a sentence with each tag.
    end : `numpy.ndarray`
        ``[tags]`` score of ending a sentence with each tag.
    allowed : `numpy.ndarray`
        ``[tags + 2, tags + 2]`` booleans, true for the allowed moves; row and column ``tags``
        stand for the start, ``tags + 1`` for the end (the layout of AllenNLP's
        `allowed_transitions` pairs).
    """

    tags: Tuple[str, ...]
    transitions: numpy.ndarray
    start: numpy.ndarray
    end: numpy.ndarray
    allowed: numpy.ndarray

    def __post_init__(self) -> None:
        num_tags = len(self.tags)
        expected = {
            "transitions": (num_tags, num_tags),
            "start": (num_tags,),
            "end": (num_tags,),
            "allowed": (num_tags + 2, num_tags + 2),
        }
        for name, shape in expected.items():
            if numpy.shape(getattr(self, name)) != shape:
                raise ValueError(
                    f"CRF parameter '{name}' has shape {numpy.shape(getattr(self, name))}; "
                    f"{len(self.tags)} tags need {shape}."
                )

    @property
    def num_tags(self) -> int:
        return len(self.tags)

    @cached_property
    def potentials(self) -> Potentials:
        """``(transitions, start, end)`` in float32 with every forbidden move at `FORBIDDEN`:
        the scores the decoder searches (the arithmetic of AllenNLP's `viterbi_tags`)."""
        allowed = self.allowed.astype(numpy.float32)
        start_tag, end_tag = self.num_tags, self.num_tags + 1

        def constrain(scores: numpy.ndarray, allowed_here: numpy.ndarray) -> numpy.ndarray:
            scores = numpy.asarray(scores, dtype=numpy.float32)
            return scores * allowed_here + numpy.float32(FORBIDDEN) * (1 - allowed_here)

        return (
            constrain(self.transitions, allowed[:start_tag, :start_tag]),
            constrain(self.start, allowed[start_tag, :start_tag]),
            constrain(self.end, allowed[:start_tag, end_tag]),
        )


class Tagging(NamedTuple):
    """The decoded tags of one row and, when asked for, the marginal probability of each."""

    tags: List[str]
    probs: Optional[List[float]]


def decode(
    emissions: numpy.ndarray,
    lengths: Sequence[int],
    crf: CrfParameters,
    probabilities: bool = True,
) -> List[Tagging]:
    """The best tag sequence of each row (Viterbi) and, with `probabilities`, the marginal
    probability of each chosen tag under the same constrained CRF (a confidence)."""
    emissions, lengths = _checked(emissions, lengths, crf)
    paths = [path for path, _ in _viterbi(emissions, lengths, crf.potentials)]
    probs: List[Optional[List[float]]] = [None] * len(paths)
    if probabilities:
        chosen = _marginals(emissions, lengths, crf.potentials)
        probs = [
            chosen[row, numpy.arange(len(path)), path].tolist() for row, path in enumerate(paths)
        ]
    return [
        Tagging([crf.tags[tag] for tag in path], row_probs) for path, row_probs in zip(paths, probs)
    ]


def viterbi(
    emissions: numpy.ndarray, lengths: Sequence[int], crf: CrfParameters
) -> List[Tuple[List[int], float]]:
    """The best path (tag indices, one per word of the row) and its score for each row, as
    AllenNLP's `viterbi_tags` gives them (top 1)."""
    emissions, lengths = _checked(emissions, lengths, crf)
    return _viterbi(emissions, lengths, crf.potentials)


def marginals(
    emissions: numpy.ndarray, lengths: Sequence[int], crf: CrfParameters
) -> numpy.ndarray:
    """``[rows, words, tags]`` float32 posterior probability of each tag at each position, under
    the constrained CRF (the distribution the decoder searches); padding positions hold
    meaningless values."""
    emissions, lengths = _checked(emissions, lengths, crf)
    return _marginals(emissions, lengths, crf.potentials)


def _checked(
    emissions: numpy.ndarray, lengths: Sequence[int], crf: CrfParameters
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    emissions = numpy.asarray(emissions, dtype=numpy.float32)
    lengths = numpy.asarray(lengths, dtype=numpy.int64).reshape(-1)
    if emissions.ndim != 3 or emissions.shape[2] != crf.num_tags:
        raise ValueError(
            f"Emission scores of shape {emissions.shape}: expected [rows, words, "
            f"{crf.num_tags}] for a CRF over {crf.num_tags} tags."
        )
    if lengths.shape[0] != emissions.shape[0]:
        raise ValueError(f"{lengths.shape[0]} lengths for {emissions.shape[0]} rows.")
    if lengths.size and (lengths.min() < 0 or lengths.max() > emissions.shape[1]):
        raise ValueError(
            f"Row lengths must lie in [0, {emissions.shape[1]}], got {lengths.tolist()}."
        )
    return emissions, lengths


def _viterbi(
    emissions: numpy.ndarray, lengths: numpy.ndarray, potentials: Potentials
) -> List[Tuple[List[int], float]]:
    transitions, start, end = potentials
    rows, length, num_tags = emissions.shape
    if length == 0:
        return [([], 0.0) for _ in range(rows)]
    inside = numpy.arange(length)[None, :] < lengths[:, None]
    keep = numpy.broadcast_to(numpy.arange(num_tags), (rows, num_tags))
    score = start + emissions[:, 0]
    backpointers = numpy.empty((max(length - 1, 0), rows, num_tags), dtype=numpy.int64)
    for i in range(1, length):
        candidates = score[:, :, None] + transitions  # [rows, from, to]
        previous = candidates.argmax(axis=1)
        best = candidates.max(axis=1)
        step = inside[:, i : i + 1]
        score = numpy.where(step, best + emissions[:, i], score)
        # Past a row's end the tag stays as it was, so backtracking lands on its last tag.
        backpointers[i - 1] = numpy.where(step, previous, keep)
    final = score + end
    tags = numpy.empty((length, rows), dtype=numpy.int64)
    tags[-1] = final.argmax(axis=1)
    everyone = numpy.arange(rows)
    for i in range(length - 2, -1, -1):
        tags[i] = backpointers[i][everyone, tags[i + 1]]
    return [
        (tags[: lengths[row], row].tolist(), float(final[row, tags[-1, row]]))
        for row in range(rows)
    ]


def _marginals(
    emissions: numpy.ndarray, lengths: numpy.ndarray, potentials: Potentials
) -> numpy.ndarray:
    """Scaled forward-backward in float64: each step is a tiny matrix product and an element-wise
    product in the probability domain, renormalised (the scale cancels out when a position's
    marginals are normalised over the tags). The log-domain form is the fallback for the
    (practically unreachable) case where float64 underflows: a step whose every allowed tag is
    more than ~700 nats below the best tag."""
    rows, length, num_tags = emissions.shape
    if length == 0:
        return numpy.zeros((rows, 0, num_tags), dtype=numpy.float32)
    inside = numpy.arange(length)[None, :] < lengths[:, None]
    scores = emissions.astype(numpy.float64)
    potentials = tuple(p.astype(numpy.float64) for p in potentials)
    with numpy.errstate(invalid="ignore", divide="ignore"):  # underflow: 0 / 0, then the fallback
        found = _scaled_marginals(scores, inside, potentials)
    if not numpy.isfinite(found).all():
        found = _log_domain_marginals(scores, inside, potentials)
    return found.astype(numpy.float32)


def _scaled_marginals(
    scores: numpy.ndarray, inside: numpy.ndarray, potentials: Potentials
) -> numpy.ndarray:
    """From float64 emission scores and potentials."""
    transitions, start, end = potentials
    rows, _, num_tags = scores.shape
    # Emissions scaled so that the best tag of each position has weight 1.
    weights_of_emissions = numpy.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = numpy.exp(transitions)  # forbidden: exp(-10000) == 0

    def normalised(values: numpy.ndarray) -> numpy.ndarray:
        return values / values.sum(axis=1, keepdims=True)

    # alpha: weights of the paths up to a position, by its tag; beta: of their continuations.
    alphas, betas = _forward_backward(
        inside,
        normalised(numpy.exp(start) * weights_of_emissions[:, 0]),
        lambda alpha, i: normalised((alpha @ weights) * weights_of_emissions[:, i]),
        numpy.broadcast_to(numpy.exp(end), (rows, num_tags)),
        lambda beta, i: normalised((weights_of_emissions[:, i + 1] * beta) @ weights.T),
    )
    products = alphas * betas
    return products / products.sum(axis=-1, keepdims=True)


def _log_domain_marginals(
    scores: numpy.ndarray, inside: numpy.ndarray, potentials: Potentials
) -> numpy.ndarray:
    """The same marginals with log-sum-exp recursions (slower, never underflows)."""
    transitions, start, end = potentials
    end = numpy.broadcast_to(end, (scores.shape[0], scores.shape[2]))
    # alpha: log-sum of the scores of the paths up to a position; beta: of their continuations.
    alphas, betas = _forward_backward(
        inside,
        start + scores[:, 0],
        lambda alpha, i: _logsumexp(alpha[:, :, None] + transitions, axis=1) + scores[:, i],
        end,
        lambda beta, i: _logsumexp(transitions + (scores[:, i + 1] + beta)[:, None, :], axis=2),
    )
    log_partition = _logsumexp(alphas[:, -1] + end, axis=1)
    return numpy.exp(alphas + betas - log_partition[:, None, None])


def _forward_backward(
    inside: numpy.ndarray,
    first_alpha: numpy.ndarray,
    forward: Callable[[numpy.ndarray, int], numpy.ndarray],
    last_beta: numpy.ndarray,
    backward: Callable[[numpy.ndarray, int], numpy.ndarray],
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """``[rows, words, tags]`` alphas and betas of the forward-backward recursions, in either
    domain: ``forward(alpha, i)`` is the alpha of position i from that of i - 1, ``backward(beta,
    i)`` the beta of i from that of i + 1. Alpha is frozen past a row's end; beta is `last_beta`
    at a row's last position."""
    length = inside.shape[1]
    alphas = [first_alpha]
    for i in range(1, length):
        alphas.append(numpy.where(inside[:, i : i + 1], forward(alphas[-1], i), alphas[-1]))
    betas = [last_beta]
    for i in range(length - 2, -1, -1):
        betas.append(numpy.where(inside[:, i + 1 : i + 2], backward(betas[-1], i), last_beta))
    betas.reverse()
    return numpy.stack(alphas, axis=1), numpy.stack(betas, axis=1)


def _logsumexp(values: numpy.ndarray, axis: int) -> numpy.ndarray:
    top = values.max(axis=axis, keepdims=True)
    return numpy.log(numpy.exp(values - top).sum(axis=axis)) + numpy.squeeze(top, axis=axis)
