import itertools
import subprocess
import sys

import numpy
import pytest

from hsl_bioner_runtime import crf

# BIO over one type, AllenNLP's layout of allowed transitions: row/column 3 is the start, 4 the end.
BIO_ONE_TYPE = ("O", "B-X", "I-X")
BIO_TWO_TYPES = ("O", "B-X", "I-X", "B-Y", "I-Y")


def _bio_allowed(tags):
    """What AllenNLP's allowed_transitions("BIO", ...) gives: I-T only after B-T or I-T, never
    first; anything may end a sentence."""
    n = len(tags)
    allowed = numpy.zeros((n + 2, n + 2), dtype=bool)
    for j, to in enumerate(tags):
        allowed[n, j] = not to.startswith("I-")
        allowed[j, n + 1] = True
        for i, source in enumerate(tags):
            allowed[i, j] = not to.startswith("I-") or source[2:] == to[2:]
    return allowed


def _crf(tags, seed, scale=1.0):
    generator = numpy.random.default_rng(seed)
    n = len(tags)
    return crf.CrfParameters(
        tags=tuple(tags),
        transitions=(generator.standard_normal((n, n)) * scale).astype(numpy.float32),
        start=generator.standard_normal(n).astype(numpy.float32),
        end=generator.standard_normal(n).astype(numpy.float32),
        allowed=_bio_allowed(tags),
    )


def _paths(parameters, length):
    """Every allowed path of `length` tags with its score, by enumeration."""
    allowed = parameters.allowed
    n = parameters.num_tags
    for path in itertools.product(range(n), repeat=length):
        if allowed[n, path[0]] and allowed[path[-1], n + 1]:
            if all(allowed[a, b] for a, b in zip(path, path[1:])):
                yield path


def _score(parameters, emissions, path):
    return (
        parameters.start[path[0]]
        + parameters.end[path[-1]]
        + sum(float(emissions[i, tag]) for i, tag in enumerate(path))
        + sum(float(parameters.transitions[a, b]) for a, b in zip(path, path[1:]))
    )


@pytest.mark.parametrize("tags", [BIO_ONE_TYPE, BIO_TWO_TYPES])
def test_viterbi_finds_the_best_allowed_path(tags):
    parameters = _crf(tags, 0)
    generator = numpy.random.default_rng(1)
    emissions = (generator.standard_normal((6, 4, len(tags))) * 3).astype(numpy.float32)
    lengths = [4, 1, 3, 4, 2, 4]
    found = crf.viterbi(emissions, lengths, parameters)
    for row, length in enumerate(lengths):
        scored = {p: _score(parameters, emissions[row], p) for p in _paths(parameters, length)}
        best = max(scored, key=scored.get)
        path, score = found[row]
        assert tuple(path) == best
        assert score == pytest.approx(scored[best], abs=1e-4)


def test_marginals_match_brute_force_enumeration_under_the_constraints():
    parameters = _crf(BIO_ONE_TYPE, 2)
    emissions = numpy.random.default_rng(3).standard_normal((1, 4, 3)).astype(numpy.float32)
    scores = {p: _score(parameters, emissions[0], p) for p in _paths(parameters, 4)}
    top = max(scores.values())
    weights = {p: numpy.exp(s - top) for p, s in scores.items()}
    total = sum(weights.values())
    expected = numpy.zeros((4, 3))
    for path, weight in weights.items():
        for i, tag in enumerate(path):
            expected[i, tag] += weight / total
    actual = crf.marginals(emissions, [4], parameters)[0]
    assert actual.dtype == numpy.float32
    numpy.testing.assert_allclose(actual, expected, atol=1e-5)
    numpy.testing.assert_allclose(actual.sum(-1), numpy.ones(4), atol=1e-5)
    assert actual[0, 2] < 1e-6  # a sentence cannot start with I-X under BIO


def test_padded_rows_get_what_they_get_alone():
    parameters = _crf(BIO_TWO_TYPES, 4)
    emissions = numpy.random.default_rng(5).standard_normal((3, 7, 5)).astype(numpy.float32)
    lengths = [7, 4, 1]
    batched = crf.marginals(emissions, lengths, parameters)
    paths = crf.viterbi(emissions, lengths, parameters)
    for row, length in enumerate(lengths):
        alone = crf.marginals(emissions[row : row + 1, :length], [length], parameters)
        numpy.testing.assert_allclose(batched[row, :length], alone[0], atol=1e-6)
        assert paths[row] == crf.viterbi(emissions[row : row + 1, :length], [length], parameters)[0]
        assert len(paths[row][0]) == length


def test_log_domain_fallback_gives_the_same_marginals_and_takes_over_on_underflow():
    def in_float64(parameters):
        return tuple(p.astype(numpy.float64) for p in parameters.potentials)

    parameters = _crf(BIO_TWO_TYPES, 6)
    scores = numpy.random.default_rng(7).standard_normal((2, 5, 5))
    inside = numpy.arange(5)[None, :] < numpy.array([5, 3])[:, None]
    scaled = crf._scaled_marginals(scores, inside, in_float64(parameters))
    logged = crf._log_domain_marginals(scores, inside, in_float64(parameters))
    numpy.testing.assert_allclose(scaled[0], logged[0], atol=1e-12)
    numpy.testing.assert_allclose(scaled[1, :3], logged[1, :3], atol=1e-12)
    # A step where the best tag is forbidden and every allowed one is 2000 nats below it:
    # exp underflows in float64, the scaled recursion divides 0 by 0, the fallback is exact.
    emissions = numpy.zeros((1, 2, 3), dtype=numpy.float32)
    emissions[0, 0] = [0.0, 0.0, 2000.0]  # I-X cannot start a sentence
    parameters = _crf(BIO_ONE_TYPE, 8)
    with numpy.errstate(invalid="ignore"):
        scaled = crf._scaled_marginals(
            emissions.astype(numpy.float64), numpy.ones((1, 2), bool), in_float64(parameters)
        )
    assert not numpy.isfinite(scaled).all()
    found = crf.marginals(emissions, [2], parameters)
    assert numpy.isfinite(found).all() and found[0, 0, 2] == 0.0
    numpy.testing.assert_allclose(found.sum(-1), 1.0, atol=1e-6)


def test_decoding_never_takes_a_forbidden_transition():
    parameters = _crf(BIO_ONE_TYPE, 9)
    emissions = numpy.zeros((1, 4, 3), dtype=numpy.float32)
    emissions[0, :, 2] = 50.0  # I-X everywhere scores best, but cannot start an entity
    [tagging] = crf.decode(emissions, [4], parameters)
    assert tagging.tags == ["B-X", "I-X", "I-X", "I-X"]
    assert all(0.0 <= p <= 1.0 for p in tagging.probs)
    [plain] = crf.decode(emissions, [4], parameters, probabilities=False)
    assert plain.tags == tagging.tags and plain.probs is None


def test_empty_inputs():
    parameters = _crf(BIO_ONE_TYPE, 10)
    assert crf.decode(numpy.zeros((2, 0, 3), numpy.float32), [0, 0], parameters) == [
        crf.Tagging([], []),
        crf.Tagging([], []),
    ]
    assert crf.decode(numpy.zeros((0, 5, 3), numpy.float32), [], parameters) == []


def test_bad_shapes_are_value_errors():
    parameters = _crf(BIO_ONE_TYPE, 11)
    with pytest.raises(ValueError, match=r"expected \[rows, words, 3\]"):
        crf.decode(numpy.zeros((1, 2, 4), numpy.float32), [2], parameters)
    with pytest.raises(ValueError, match="2 lengths for 1 rows"):
        crf.decode(numpy.zeros((1, 2, 3), numpy.float32), [2, 2], parameters)
    with pytest.raises(ValueError, match=r"lie in \[0, 2\]"):
        crf.decode(numpy.zeros((1, 2, 3), numpy.float32), [3], parameters)
    with pytest.raises(ValueError, match="'allowed' has shape"):
        crf.CrfParameters(
            tags=BIO_ONE_TYPE,
            transitions=parameters.transitions,
            start=parameters.start,
            end=parameters.end,
            allowed=numpy.ones((3, 3), bool),
        )


def test_the_decoder_imports_no_torch():
    code = (
        "import sys, hsl_bioner_runtime.crf; "
        "print(sorted({'torch', 'allennlp', 'transformers'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
