import pytest
import torch
from allennlp.modules import ConditionalRandomField
from allennlp.modules.conditional_random_field import allowed_transitions

from hsl_bioner.modules import batched_crf

BIO_ONE_TYPE = {0: "O", 1: "B-Disease", 2: "I-Disease"}
BIO_TWO_TYPES = {0: "O", 1: "B-Chemical", 2: "I-Chemical", 3: "B-Disease", 4: "I-Disease"}


def _crf(labels, seed: int) -> ConditionalRandomField:
    torch.manual_seed(seed)
    crf = ConditionalRandomField(
        len(labels),
        constraints=allowed_transitions("BIO", labels),
        include_start_end_transitions=True,
    )
    with torch.no_grad():  # AllenNLP starts its start/end scores at zero: make them count
        crf.start_transitions.normal_()
        crf.end_transitions.normal_()
    return crf


def _batch(crfs, rows_per_crf: int, length: int, seed: int):
    """Logits, gold tags and a ragged mask for rows of each CRF, interleaved."""
    generator = torch.Generator().manual_seed(seed)
    owners = [i % len(crfs) for i in range(rows_per_crf * len(crfs))]
    num_tags = max(crf.num_tags for crf in crfs)
    logits = torch.randn(len(owners), length, num_tags, generator=generator) * 3
    lengths = torch.randint(1, length + 1, (len(owners),), generator=generator)
    lengths[0] = length
    mask = torch.arange(length).unsqueeze(0) < lengths.unsqueeze(1)
    tags = torch.stack(
        [torch.randint(0, crfs[o].num_tags, (length,), generator=generator) for o in owners]
    )
    return owners, logits, tags, mask


def _row_potentials(crfs, owners, constrained: bool):
    stacked = batched_crf.stacked_potentials(crfs, constrained)
    index = torch.tensor(owners)
    return tuple(p.index_select(0, index) for p in stacked)


@pytest.mark.parametrize("labels", [[BIO_ONE_TYPE] * 3, [BIO_ONE_TYPE, BIO_TWO_TYPES]])
def test_log_likelihood_is_allennlps_per_row(labels):
    crfs = [_crf(labels_of_crf, seed) for seed, labels_of_crf in enumerate(labels)]
    owners, logits, tags, mask = _batch(crfs, rows_per_crf=4, length=9, seed=1)
    logits.requires_grad_(True)
    batched = batched_crf.log_likelihood(logits, tags, mask, _row_potentials(crfs, owners, False))
    for row, owner in enumerate(owners):
        num_tags = crfs[owner].num_tags
        expected = crfs[owner](
            logits[row : row + 1, :, :num_tags], tags[row : row + 1], mask[row : row + 1]
        )
        assert batched[row].item() == pytest.approx(expected.item(), abs=1e-4)
    # Gradients reach every CRF's parameters through the gathered potentials.
    batched.sum().backward()
    for crf in crfs:
        assert crf.transitions.grad is not None and crf.transitions.grad.abs().sum() > 0
        assert crf.start_transitions.grad.abs().sum() > 0


@pytest.mark.parametrize("labels", [[BIO_ONE_TYPE] * 4, [BIO_TWO_TYPES, BIO_ONE_TYPE]])
def test_viterbi_is_allennlps_per_row(labels):
    crfs = [_crf(labels_of_crf, 10 + seed) for seed, labels_of_crf in enumerate(labels)]
    owners, logits, _, mask = _batch(crfs, rows_per_crf=5, length=12, seed=2)
    batched = batched_crf.viterbi(logits, mask, _row_potentials(crfs, owners, True))
    for row, owner in enumerate(owners):
        num_tags = crfs[owner].num_tags
        [(path, score)] = crfs[owner].viterbi_tags(
            logits[row : row + 1, :, :num_tags], mask[row : row + 1]
        )
        assert batched[row][0] == path
        assert len(path) == int(mask[row].sum())
        assert batched[row][1] == pytest.approx(score, abs=1e-3)


def test_viterbi_never_takes_a_forbidden_transition():
    crf = _crf(BIO_ONE_TYPE, 3)
    logits = torch.zeros(1, 4, 3)
    logits[0, :, 2] = 50.0  # I-Disease everywhere scores best, but cannot start an entity
    potentials = tuple(p.unsqueeze(0) for p in batched_crf.crf_potentials(crf, True))
    [(path, _)] = batched_crf.viterbi(logits, torch.ones(1, 4, dtype=torch.bool), potentials)
    assert path == [1, 2, 2, 2]


def test_single_position_rows():
    crf = _crf(BIO_ONE_TYPE, 4)
    logits = torch.randn(3, 1, 3)
    mask = torch.ones(3, 1, dtype=torch.bool)
    tags = torch.zeros(3, 1, dtype=torch.long)
    potentials = tuple(p.expand(3, *p.shape) for p in batched_crf.crf_potentials(crf, False))
    batched = batched_crf.log_likelihood(logits, tags, mask, potentials)
    for row in range(3):
        expected = crf(logits[row : row + 1], tags[row : row + 1], mask[row : row + 1])
        assert batched[row].item() == pytest.approx(expected.item(), abs=1e-5)
    constrained = tuple(p.expand(3, *p.shape) for p in batched_crf.crf_potentials(crf, True))
    assert [path for path, _ in batched_crf.viterbi(logits, mask, constrained)] == [
        path for path, _ in crf.viterbi_tags(logits, mask)
    ]
