import itertools

import pytest
import torch
from allennlp.modules import ConditionalRandomField
from allennlp.modules.conditional_random_field import allowed_transitions

from hsl_bioner.modules.crf import LinearChainCrf, log_likelihood
from hsl_bioner_runtime import crf as runtime_crf
from hsl_bioner_runtime.tag_schemes import allowed_transitions as runtime_allowed_transitions

BIO_ONE_TYPE = {0: "O", 1: "B-Disease", 2: "I-Disease"}
BIO_TWO_TYPES = {0: "O", 1: "B-Chemical", 2: "I-Chemical", 3: "B-Disease", 4: "I-Disease"}


def _pair(labels, seed: int):
    """Our CRF and AllenNLP's, with the same parameters."""
    torch.manual_seed(seed)
    ours = LinearChainCrf(labels, "BIO")
    theirs = ConditionalRandomField(
        len(labels),
        constraints=allowed_transitions("BIO", labels),
        include_start_end_transitions=True,
    )
    theirs.load_state_dict(
        {**ours.state_dict(), "_constraint_mask": theirs.state_dict()["_constraint_mask"]}
    )
    return ours, theirs


def _batch(crfs, rows_per_crf: int, length: int, seed: int):
    """Per CRF: logits, gold tags and a ragged mask for its rows."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for crf in crfs:
        logits = torch.randn(rows_per_crf, length, crf.num_tags, generator=generator) * 3
        lengths = torch.randint(1, length + 1, (rows_per_crf,), generator=generator)
        lengths[0] = length
        mask = torch.arange(length).unsqueeze(0) < lengths.unsqueeze(1)
        tags = torch.randint(0, crf.num_tags, (rows_per_crf, length), generator=generator)
        batches.append((logits, tags, mask))
    return batches


def test_parameters_are_allennlps_names_and_initialisation():
    torch.manual_seed(3)
    theirs = ConditionalRandomField(5, allowed_transitions("BIO", BIO_TWO_TYPES))
    torch.manual_seed(3)
    ours = LinearChainCrf(BIO_TWO_TYPES, "BIO")
    assert list(ours.state_dict()) == ["transitions", "start_transitions", "end_transitions"]
    for name, value in ours.state_dict().items():
        assert torch.equal(value, theirs.state_dict()[name]), name
    assert (ours.allowed == theirs._constraint_mask.bool().numpy()).all()


BIOUL_TWO_TYPES = {
    i: tag
    for i, tag in enumerate(
        ["O"] + [f"{p}-{t}" for t in ("Gene-or-protein", "Disease") for p in "BILU"]
    )
}


@pytest.mark.parametrize(
    "scheme, labels",
    [("BIO", BIO_ONE_TYPE), ("BIO", BIO_TWO_TYPES), ("BIOUL", BIOUL_TWO_TYPES)],
)
def test_allowed_transitions_are_allennlps(scheme, labels):
    # The torch-free helper that the CRF, the exporter and the runtime's tests use.
    ours = runtime_allowed_transitions([labels[i] for i in range(len(labels))], scheme)
    assert sorted(ours) == sorted(allowed_transitions(scheme, labels))


@pytest.mark.parametrize("labels", [[BIO_ONE_TYPE] * 3, [BIO_ONE_TYPE, BIO_TWO_TYPES]])
def test_log_likelihood_of_a_mixed_batch_is_allennlps_per_row(labels):
    pairs = [_pair(labels_of_crf, seed) for seed, labels_of_crf in enumerate(labels)]
    batches = _batch([ours for ours, _ in pairs], rows_per_crf=4, length=9, seed=1)
    for logits, _, _ in batches:
        logits.requires_grad_(True)
    emissions, tags, masks = (list(column) for column in zip(*batches))
    found = log_likelihood([ours for ours, _ in pairs], emissions, tags, masks)
    expected = torch.cat(
        [
            torch.stack(
                [theirs(logits[r : r + 1], gold[r : r + 1], mask[r : r + 1]) for r in range(4)]
            )
            for (_, theirs), (logits, gold, mask) in zip(pairs, batches)
        ]
    )
    assert torch.allclose(found, expected, atol=1e-4)
    # Gradients reach every CRF's parameters through the gathered potentials.
    found.sum().backward()
    for ours, _ in pairs:
        assert ours.transitions.grad is not None and ours.transitions.grad.abs().sum() > 0
        assert ours.start_transitions.grad.abs().sum() > 0


@pytest.mark.parametrize("labels", [BIO_ONE_TYPE, BIO_TWO_TYPES])
def test_decoding_is_allennlps_viterbi(labels):
    ours, theirs = _pair(labels, 10)
    with torch.no_grad():  # make the constraints matter
        ours.transitions.normal_(0, 3)
        theirs.transitions.copy_(ours.transitions)
    [(logits, _, mask)] = _batch([ours], rows_per_crf=6, length=12, seed=2)
    decoded = ours.decode(logits, mask)
    scored = runtime_crf.viterbi(logits.numpy(), mask.sum(1).numpy(), ours.decoding_parameters())
    for row in range(6):
        [(path, score)] = theirs.viterbi_tags(logits[row : row + 1], mask[row : row + 1])
        assert decoded[row].tags == [labels[tag] for tag in path]
        assert len(path) == int(mask[row].sum())
        assert scored[row] == (path, pytest.approx(score, abs=1e-3))


def test_marginals_follow_the_constraints_and_sum_to_one():
    ours, _ = _pair(BIO_ONE_TYPE, 4)
    logits = torch.randn(1, 4, 3)
    [tagging] = ours.decode(logits, torch.ones(1, 4, dtype=torch.bool))
    marginals = runtime_crf.marginals(logits.numpy(), [4], ours.decoding_parameters())[0]
    assert marginals[0, 2] < 1e-3  # a sentence cannot start with I-Disease
    assert abs(marginals.sum(-1) - 1).max() < 1e-5
    path = [ours.tags.index(tag) for tag in tagging.tags]
    assert tagging.probs == pytest.approx([marginals[i, t] for i, t in enumerate(path)])
    # The decoded path is an allowed one.
    allowed = ours.allowed
    assert allowed[3, path[0]] and all(allowed[a, b] for a, b in itertools.pairwise(path))


def test_single_position_rows():
    ours, theirs = _pair(BIO_ONE_TYPE, 5)
    logits = torch.randn(3, 1, 3)
    mask = torch.ones(3, 1, dtype=torch.bool)
    tags = torch.zeros(3, 1, dtype=torch.long)
    found = log_likelihood([ours], [logits], [tags], [mask])
    for row in range(3):
        expected = theirs(logits[row : row + 1], tags[row : row + 1], mask[row : row + 1])
        assert found[row].item() == pytest.approx(expected.item(), abs=1e-5)
    assert [t.tags for t in ours.decode(logits, mask)] == [
        [BIO_ONE_TYPE[tag] for tag in path] for path, _ in theirs.viterbi_tags(logits, mask)
    ]
