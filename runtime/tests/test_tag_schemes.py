"""Tests of hsl_bioner_runtime.tag_schemes: parsing, validation and conversion of tag sequences."""
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsl_bioner_runtime.tag_schemes import (
    CODING_SCHEMES,
    INPUT_SCHEMES,
    TagSequenceError,
    allowed_transitions,
    convert,
    normalize_scheme,
    spans_to_tags,
    tags_to_spans,
    validate_tags,
)

# --------------------------------------------------------------------------------------------
# Scheme names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, canonical",
    [
        ("IOB1", "IOB1"),
        ("BIO", "BIO"),
        ("IOB2", "BIO"),
        ("iob2", "BIO"),
        (" bio ", "BIO"),
        ("IOBES", "IOBES"),
        ("BIOES", "IOBES"),
        ("BIOUL", "BIOUL"),
        ("BILOU", "BIOUL"),
    ],
)
def test_normalize_scheme(name, canonical):
    assert normalize_scheme(name) == canonical


@pytest.mark.parametrize("name", ["", "IOB", "BMES", "IOB3", "B-I-O"])
def test_unknown_scheme_is_rejected(name):
    with pytest.raises(ValueError, match="Unknown tag scheme"):
        normalize_scheme(name)
    with pytest.raises(ValueError, match="Unknown tag scheme"):
        validate_tags(["O"], name)


def test_coding_schemes_are_allennlp_names():
    assert CODING_SCHEMES == ("BIO", "BIOUL")
    assert set(CODING_SCHEMES) <= set(INPUT_SCHEMES)


# --------------------------------------------------------------------------------------------
# tags_to_spans on each scheme
# --------------------------------------------------------------------------------------------

SPANS = [("X", 0, 1), ("X", 2, 2), ("Y", 4, 4), ("Gene-or-protein", 5, 7)]
TAGGED = {
    "IOB1": ["I-X", "I-X", "B-X", "O", "I-Y", "I-Gene-or-protein", "I-Gene-or-protein",
             "I-Gene-or-protein"],
    "BIO": ["B-X", "I-X", "B-X", "O", "B-Y", "B-Gene-or-protein", "I-Gene-or-protein",
            "I-Gene-or-protein"],
    "IOBES": ["B-X", "E-X", "S-X", "O", "S-Y", "B-Gene-or-protein", "I-Gene-or-protein",
              "E-Gene-or-protein"],
    "BIOUL": ["B-X", "L-X", "U-X", "O", "U-Y", "B-Gene-or-protein", "I-Gene-or-protein",
              "L-Gene-or-protein"],
}


@pytest.mark.parametrize("scheme", sorted(TAGGED))
def test_tags_to_spans_each_scheme(scheme):
    assert tags_to_spans(TAGGED[scheme], scheme) == SPANS
    assert spans_to_tags(SPANS, len(TAGGED[scheme]), scheme) == TAGGED[scheme]


@pytest.mark.parametrize("reader", ["IOBES", "BIOUL"])
@pytest.mark.parametrize("written", ["IOBES", "BIOUL"])
def test_iobes_and_bioul_letters_are_both_read(reader, written):
    assert tags_to_spans(TAGGED[written], reader) == SPANS


def test_iobes_mixed_letters():
    assert tags_to_spans(["B-X", "I-X", "L-X", "S-Y", "U-Y", "B-Z", "E-Z"], "IOBES") == [
        ("X", 0, 2),
        ("Y", 3, 3),
        ("Y", 4, 4),
        ("Z", 5, 6),
    ]


def test_empty_sequence():
    for scheme in INPUT_SCHEMES:
        assert tags_to_spans([], scheme) == []
        assert spans_to_tags([], 0, scheme) == []
        assert convert([], scheme, "BIO") == []


def test_iob1_type_change_and_b_after_same_type():
    assert tags_to_spans(["I-X", "I-Y", "B-Y", "O", "I-X"], "IOB1") == [
        ("X", 0, 0),
        ("Y", 1, 1),
        ("Y", 2, 2),
        ("X", 4, 4),
    ]


def test_bio_type_change_starts_new_entity_only_with_b():
    assert tags_to_spans(["B-X", "B-Y", "I-Y", "B-Y"], "BIO") == [
        ("X", 0, 0),
        ("Y", 1, 2),
        ("Y", 3, 3),
    ]


# --------------------------------------------------------------------------------------------
# validate_tags: the bad-sequence table. (scheme, tags, position of first offending tag, message)
# --------------------------------------------------------------------------------------------

BAD_SEQUENCES = [
    # Malformed tags, in any scheme.
    pytest.param("BIO", ["O", "X-Foo"], 1, "unknown tag 'X-Foo'", id="unknown-prefix"),
    pytest.param("BIO", ["B_Foo"], 0, "unknown tag 'B_Foo'", id="underscore-separator"),
    pytest.param("BIO", ["b-Foo"], 0, "unknown tag", id="lower-case-prefix"),
    pytest.param("BIO", ["O", "O-Foo"], 1, "unknown tag", id="o-with-type"),
    pytest.param("BIO", ["Foo"], 0, "unknown tag", id="bare-type"),
    pytest.param("BIO", ["B"], 0, "unknown tag", id="bare-letter"),
    pytest.param("BIO", ["o"], 0, "unknown tag", id="lower-case-o"),
    pytest.param("BIO", ["O", "B-"], 1, "empty entity type", id="empty-type"),
    pytest.param("IOBES", ["B-"], 0, "empty entity type", id="empty-type-iobes"),
    pytest.param("BIO", [""], 0, "empty tag", id="empty-tag"),
    pytest.param("BIO", ["B-Foo Bar"], 0, "whitespace", id="space-in-type"),
    pytest.param("BIO", [" O"], 0, "whitespace", id="leading-space"),
    pytest.param("BIO", ["B-X", "E-X"], 1, "unknown tag 'E-X'", id="bio-has-no-e"),
    pytest.param("BIO", ["S-X"], 0, "unknown tag", id="bio-has-no-s"),
    pytest.param("IOB1", ["L-X"], 0, "unknown tag", id="iob1-has-no-l"),
    pytest.param("IOBES", ["M-X"], 0, "unknown tag", id="bmes-m-is-not-iobes"),
    # BIO: an I-T must follow B-T or I-T.
    pytest.param("BIO", ["I-X"], 0, "at the start of the sentence continues no entity",
                 id="bio-i-at-start"),
    pytest.param("BIO", ["O", "I-X"], 1, "'I-X' after 'O' continues no entity",
                 id="bio-i-after-o"),
    pytest.param("BIO", ["B-X", "I-Y"], 1, "continues no entity", id="bio-type-change"),
    pytest.param("BIO", ["B-X", "I-X", "O", "O", "I-X"], 4, "continues no entity",
                 id="bio-i-after-gap"),
    # IOBES: I-/E- must follow B-/I- of the same type; B-/I- must be closed by E-.
    pytest.param("IOBES", ["E-X"], 0, "continues no entity", id="iobes-e-at-start"),
    pytest.param("IOBES", ["O", "I-X"], 1, "continues no entity", id="iobes-i-after-o"),
    pytest.param("IOBES", ["S-X", "E-X"], 1, "continues no entity", id="iobes-e-after-s"),
    pytest.param("IOBES", ["B-X", "E-X", "I-X"], 2, "continues no entity", id="iobes-i-after-e"),
    pytest.param("IOBES", ["B-X", "O"], 1, "'O' cannot follow 'B-X'", id="iobes-b-then-o"),
    pytest.param("IOBES", ["B-X", "I-X", "B-X"], 2, "cannot follow", id="iobes-b-in-entity"),
    pytest.param("IOBES", ["B-X", "S-X"], 1, "cannot follow", id="iobes-s-in-entity"),
    pytest.param("IOBES", ["B-X", "E-Y"], 1, "cannot follow", id="iobes-type-change"),
    pytest.param("IOBES", ["O", "B-X"], 1, "ends inside an entity", id="iobes-b-at-end"),
    pytest.param("IOBES", ["B-X", "I-X"], 1, "ends inside an entity", id="iobes-i-at-end"),
    pytest.param("BIOUL", ["B-X", "I-X", "I-X"], 2, "ends inside an entity", id="bioul-unclosed"),
    pytest.param("BIOUL", ["U-X", "L-X"], 1, "continues no entity", id="bioul-l-after-u"),
    # IOB1: B- only directly after an entity of the same type.
    pytest.param("IOB1", ["B-X"], 0, "is the file in BIO?", id="iob1-b-at-start"),
    pytest.param("IOB1", ["O", "B-X"], 1, "in IOB1 B- only starts", id="iob1-b-after-o"),
    pytest.param("IOB1", ["I-X", "B-Y"], 1, "in IOB1 B- only starts", id="iob1-b-after-other"),
]


@pytest.mark.parametrize("scheme, tags, position, message", BAD_SEQUENCES)
def test_bad_sequences(scheme, tags, position, message):
    with pytest.raises(TagSequenceError) as caught:
        validate_tags(tags, scheme)
    assert caught.value.position == position
    assert message in caught.value.message
    assert str(caught.value).startswith(f"tag {position}: ")
    assert isinstance(caught.value, ValueError)
    # tags_to_spans and convert are as strict as validate_tags.
    with pytest.raises(TagSequenceError):
        tags_to_spans(tags, scheme)
    with pytest.raises(TagSequenceError):
        convert(tags, scheme, "BIO")


GOOD_SEQUENCES = [
    ("IOB1", ["I-X", "O", "I-X", "I-X", "B-X", "I-Y"]),  # I- anywhere, B- after same type
    ("BIO", ["B-X", "B-X", "I-X", "O", "B-Y"]),
    ("IOBES", ["S-X", "B-X", "I-X", "E-X", "O", "U-Y", "B-Y", "L-Y"]),
    ("BIOUL", ["U-X", "B-X", "L-X", "S-Y"]),
]


@pytest.mark.parametrize("scheme, tags", GOOD_SEQUENCES)
def test_good_sequences(scheme, tags):
    validate_tags(tags, scheme)


def test_tag_sequence_error_pickles():
    error = TagSequenceError(3, "bad")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.position, copy.message, str(copy)) == (3, "bad", "tag 3: bad")


# --------------------------------------------------------------------------------------------
# spans_to_tags errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spans, length, message",
    [
        ([("X", 0, 1), ("Y", 1, 2)], 3, "overlaps"),
        ([("X", 0, 3)], 3, "does not fit"),
        ([("X", -1, 0)], 3, "does not fit"),
        ([("X", 2, 1)], 3, "does not fit"),
        ([("", 0, 0)], 3, "non-empty"),
        ([("A B", 0, 0)], 3, "whitespace"),
    ],
)
def test_spans_to_tags_rejects_bad_spans(spans, length, message):
    with pytest.raises(ValueError, match=message):
        spans_to_tags(spans, length, "BIO")


def test_spans_to_tags_sorts_spans():
    assert spans_to_tags([("Y", 3, 3), ("X", 0, 1)], 4, "BIO") == ["B-X", "I-X", "O", "B-Y"]


# --------------------------------------------------------------------------------------------
# convert, type_map
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", sorted(TAGGED))
@pytest.mark.parametrize("target", sorted(TAGGED))
def test_convert_between_all_schemes(source, target):
    assert convert(TAGGED[source], source, target) == TAGGED[target]


def test_convert_with_aliases():
    assert convert(["B-X", "I-X"], "IOB2", "BILOU") == ["B-X", "L-X"]
    assert convert(["S-X", "B-Y", "E-Y"], "BIOES", "bio") == ["B-X", "B-Y", "I-Y"]


def test_type_map_merges_types_and_keeps_adjacent_entities_apart():
    tags = ["B-Simple_chemical", "B-CHEBI", "I-CHEBI", "O", "B-Chemical", "B-Protein"]
    type_map = {"Simple_chemical": "Chemical", "CHEBI": "Chemical"}
    assert convert(tags, "BIO", "BIO", type_map) == [
        "B-Chemical", "B-Chemical", "I-Chemical", "O", "B-Chemical", "B-Protein"
    ]
    assert convert(tags, "BIO", "BIOUL", type_map) == [
        "U-Chemical", "B-Chemical", "L-Chemical", "O", "U-Chemical", "U-Protein"
    ]
    # In IOB1 the second of two adjacent same-type entities starts with B-.
    assert convert(tags, "BIO", "IOB1", type_map) == [
        "I-Chemical", "B-Chemical", "I-Chemical", "O", "I-Chemical", "I-Protein"
    ]


def test_type_map_to_o_drops_entities():
    tags = ["B-Cell", "E-Cell", "S-Simple_chemical", "O", "S-Cell"]
    assert convert(tags, "IOBES", "BIO", {"Cell": "O"}) == [
        "O", "O", "B-Simple_chemical", "O", "O"
    ]
    # Unmapped types pass through unchanged, and every type can be dropped.
    assert convert(tags, "IOBES", "BIO", {"Cell": "O", "Simple_chemical": "O"}) == ["O"] * 5
    assert convert(tags, "IOBES", "BIOUL", {"Other": "Thing"}) == [
        "B-Cell", "L-Cell", "U-Simple_chemical", "O", "U-Cell"
    ]


@pytest.mark.parametrize("bad_value", ["", "A B", None, 3])
def test_type_map_with_invalid_value_is_rejected(bad_value):
    with pytest.raises(ValueError, match="type_map"):
        convert(["B-X"], "BIO", "BIO", {"X": bad_value})


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

TYPES = st.sampled_from(["X", "Y", "Gene-or-protein"])


@st.composite
def spans_and_length(draw):
    """Random non-overlapping spans (adjacent ones included) and a sequence length."""
    spans = []
    position = 0
    for _ in range(draw(st.integers(0, 6))):
        start = position + draw(st.integers(0, 2))
        end = start + draw(st.integers(0, 3))
        spans.append((draw(TYPES), start, end))
        position = end + 1
    length = position + draw(st.integers(0, 2))
    return spans, length


@settings(max_examples=150, deadline=None)
@given(spans_and_length(), st.sampled_from(INPUT_SCHEMES))
def test_spans_to_tags_and_tags_to_spans_are_inverse(spans_length, scheme):
    spans, length = spans_length
    tags = spans_to_tags(spans, length, scheme)
    assert len(tags) == length
    validate_tags(tags, scheme)
    assert tags_to_spans(tags, scheme) == spans
    assert spans_to_tags(tags_to_spans(tags, scheme), length, scheme) == tags
    for target in INPUT_SCHEMES:
        assert convert(tags, scheme, target) == spans_to_tags(spans, length, target)


@settings(max_examples=100, deadline=None)
@given(spans_and_length())
def test_agrees_with_allennlp_span_utils(spans_length):
    # The core must not need AllenNLP; where it is installed (the plugin's environment), the
    # schemes must read tags exactly as AllenNLP's own span utilities do.
    span_utils = pytest.importorskip("allennlp.data.dataset_readers.dataset_utils.span_utils")
    bio_tags_to_spans = span_utils.bio_tags_to_spans
    bioul_tags_to_spans = span_utils.bioul_tags_to_spans
    iob1_tags_to_spans = span_utils.iob1_tags_to_spans
    to_bioul = span_utils.to_bioul
    spans, length = spans_length
    expected = sorted((t, (s, e)) for t, s, e in spans)
    bio = spans_to_tags(spans, length, "BIO")
    bioul = spans_to_tags(spans, length, "BIOUL")
    iob1 = spans_to_tags(spans, length, "IOB1")
    assert sorted(bio_tags_to_spans(bio)) == expected
    assert sorted(bioul_tags_to_spans(bioul)) == expected
    assert sorted(iob1_tags_to_spans(iob1)) == expected
    assert to_bioul(bio, encoding="BIO") == bioul
    assert to_bioul(iob1, encoding="IOB1") == bioul


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["O", "B-X", "I-X", "B-Y", "I-Y", "B-XY", "I-XY", "X-Y", "B-", "I-", "B-X Y", "",
             "B-X\nI-X", "O\n", "OO", "E-X", "B-\\1"]
        ),
        max_size=8,
    )
)
def test_bio_fast_check_agrees_with_parser(tags):
    """validate_tags has a regex fast path for BIO; it must accept exactly the valid sequences."""
    from hsl_bioner_runtime.tag_schemes import _is_plainly_valid_bio, _parse

    try:
        _parse(tags, "BIO")
        valid = True
    except TagSequenceError:
        valid = False
    assert _is_plainly_valid_bio(tags) == valid


def test_allowed_transitions_constrain_bio_and_bioul():
    bio = set(allowed_transitions(["O", "B-Disease", "I-Disease"], "BIO"))
    start, end = 3, 4
    assert {(start, 0), (start, 1), (0, 1), (1, 2), (2, 2), (2, end)} <= bio
    assert not {(start, 2), (0, 2), (end, 0), (0, start)} & bio
    bioul = set(allowed_transitions(["O", "B-D", "I-D", "L-D", "U-D"], "BIOUL"))
    assert {(5, 4), (1, 3), (3, 6), (4, 6)} <= bioul
    assert not {(1, 6), (0, 3), (5, 2)} & bioul
    with pytest.raises(ValueError, match="not 'IOB1'"):
        allowed_transitions(["O"], "IOB1")
