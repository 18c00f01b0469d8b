import itertools

import torch
from allennlp.modules import ConditionalRandomField
from allennlp.modules.conditional_random_field import allowed_transitions

from hsl_bioner.modules.crf_marginals import crf_marginals


def test_marginals_match_brute_force_enumeration_under_the_constraints():
    torch.manual_seed(0)
    labels = {0: "O", 1: "B-X", 2: "I-X"}
    crf = ConditionalRandomField(3, allowed_transitions("BIO", labels))
    with torch.no_grad():
        for parameter in (crf.transitions, crf.start_transitions, crf.end_transitions):
            parameter.normal_()
    logits = torch.randn(4, 3)
    allowed = crf._constraint_mask
    scores = {}
    for path in itertools.product(range(3), repeat=4):
        if not allowed[3, path[0]] or not allowed[path[-1], 4]:
            continue
        if not all(allowed[a, b] for a, b in zip(path, path[1:])):
            continue
        score = crf.start_transitions[path[0]] + crf.end_transitions[path[-1]]
        score = score + sum(logits[i, tag] for i, tag in enumerate(path))
        score = score + sum(crf.transitions[a, b] for a, b in zip(path, path[1:]))
        scores[path] = score
    partition = torch.logsumexp(torch.stack(list(scores.values())), 0)
    expected = torch.zeros(4, 3)
    for path, score in scores.items():
        for i, tag in enumerate(path):
            expected[i, tag] += torch.exp(score - partition)
    actual = crf_marginals(crf, logits.unsqueeze(0), torch.ones(1, 4, dtype=torch.bool))[0]
    assert torch.allclose(actual, expected, atol=1e-4)
    assert torch.allclose(actual.sum(-1), torch.ones(4), atol=1e-5)
    assert actual[0, 2] < 1e-3  # a sentence cannot start with I-X under BIO


def test_padded_rows_get_the_marginals_they_get_alone():
    torch.manual_seed(1)
    labels = {0: "O", 1: "B-X", 2: "I-X", 3: "B-Y", 4: "I-Y"}
    crf = ConditionalRandomField(5, allowed_transitions("BIO", labels))
    with torch.no_grad():
        crf.transitions.normal_()
    logits = torch.randn(3, 7, 5)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3, [1] + [0] * 6], dtype=torch.bool)
    batched = crf_marginals(crf, logits, mask)
    for row, length in enumerate([7, 4, 1]):
        alone = crf_marginals(crf, logits[row : row + 1, :length], mask[row : row + 1, :length])
        assert torch.allclose(batched[row, :length], alone[0], atol=1e-5)
        assert torch.allclose(batched[row, :length].sum(-1), torch.ones(length), atol=1e-5)
