"""The set computation: the one table of regions, the five ratios against their definitions on
random sets, undefined ratios, entity strings and their normalisation."""
import itertools
import random

import pytest

from hsl_bioner.analysis.sets import (
    NORMALISATIONS,
    RATIOS,
    REGIONS,
    SETS,
    analyse_sets,
    check_normalisation,
    entity_strings,
    entity_strings_by_type,
    normalise_entity,
    strings_of_types,
)


def test_the_region_table_covers_every_membership_once_and_its_formulas_say_so():
    assert [key for key, _ in SETS] == ["T", "L", "P"]
    memberships = [region.members for region in REGIONS]
    expected = [m for m in itertools.product((True, False), repeat=3) if any(m)]
    assert sorted(memberships) == sorted(expected) and len(set(memberships)) == 7
    assert len({region.key for region in REGIONS}) == 7
    for region in REGIONS:
        terms = region.formula.split(" ∩ ")
        assert terms == [k if inside else f"C_{k}" for k, inside in zip("TLP", region.members)]
        assert region.meaning
    # The order of the table, the JSON and the picture's legend.
    assert [region.key for region in REGIONS] == [
        "T_L_P", "T_L_only", "L_P_only", "L_only", "T_P_only", "P_only", "T_only"
    ]  # fmt: skip


def by_definition(train: set, test: set, predicted: set) -> dict:
    """The paper's five ratios straight from the set definitions (None for 0 denominators)."""

    def ratio(numerator, denominator):
        return None if denominator == 0 else numerator / denominator

    return {
        "generalisation": ratio(len((test - train) & predicted), len(test - train)),
        "coverage": ratio(len(train & test), len(test)),
        "forgetting": ratio(len((train & test) - predicted), len(train & test)),
        "conflict": ratio(len((predicted - test) & train), len(predicted - test)),
        "over_prediction": ratio(len(predicted) - len(test), len(test)),
    }


@pytest.mark.parametrize("seed", range(40))
def test_ratios_and_regions_match_the_definitions_on_random_sets(seed):
    rng = random.Random(seed)
    universe = [f"s{i}" for i in range(rng.randint(0, 12))]
    train, test, predicted = (
        {s for s in universe if rng.random() < rng.random()} for _ in range(3)
    )
    analysis = analyse_sets(train, test, predicted, examples=3)
    assert analysis.sizes == {"T": len(train), "L": len(test), "P": len(predicted)}
    sets = {"T": train, "L": test, "P": predicted}
    union = train | test | predicted
    for region in REGIONS:
        members = {
            s for s in union
            if all((s in sets[key]) == member for key, member in zip("TLP", region.members))
        }  # fmt: skip
        assert analysis.regions[region.key] == len(members)
        assert analysis.examples[region.key] == sorted(members)[:3]
    assert sum(analysis.regions.values()) == len(union)
    assert list(analysis.regions) == [region.key for region in REGIONS]
    expected = by_definition(train, test, predicted)
    assert analysis.ratios == pytest.approx(expected)
    for ratio in RATIOS:
        numerator, denominator = analysis.fractions[ratio.key]
        if expected[ratio.key] is None:
            assert denominator == 0 and analysis.undefined[ratio.key] == ratio.undefined_when
        else:
            assert numerator / denominator == pytest.approx(expected[ratio.key])
            assert ratio.key not in analysis.undefined


def test_to_json_is_plain_data():
    analysis = analyse_sets({"a"}, {"a", "b"}, {"a", "b"}, examples=1)
    data = analysis.to_json()
    assert data["ratios"]["conflict"] is None and "conflict" in data["undefined"]
    assert data["fractions"]["coverage"] == [1, 2]
    assert data["examples"]["L_P_only"] == ["b"]
    assert analyse_sets({"a"}, set(), set()).to_json()["examples"] == {}


def test_normalisation_names_order_and_errors():
    # Canonical order (the order of NORMALISATIONS), whatever order they are given in.
    assert check_normalisation(["nfkc", "case", "hyphen"]) == ("case", "hyphen", "nfkc")
    assert tuple(NORMALISATIONS) == ("case", "hyphen", "nfkc")
    assert check_normalisation(["none"]) == ()
    with pytest.raises(ValueError, match="'lower'"):
        check_normalisation(["case", "lower"])
    with pytest.raises(ValueError, match="Unknown"):
        check_normalisation(["none", "case"])  # 'none' only alone


def test_normalise_entity_applies_nfkc_before_the_hyphen_rule_and_folds_case_last():
    # A full-width hyphen becomes "-" under NFKC, and only then loses its spaces.
    assert normalise_entity("IL \uff0d 2", ["nfkc", "hyphen"]) == "IL-2"
    assert normalise_entity("IL \uff0d 2", ["hyphen"]) == "IL \uff0d 2"
    # Whitespace (a no-break space too) is collapsed whatever is chosen.
    assert normalise_entity(" a \t b\u00a0c ", ["none"]) == "a b c"
    assert normalise_entity("\ufb01brosis", ["none"]) == "\ufb01brosis"
    assert normalise_entity("\ufb01brosis", ["nfkc"]) == "fibrosis"
    assert normalise_entity("Non - Small", ["case", "hyphen"]) == "non-small"


def test_entity_strings_by_type_keeps_types_in_order_of_first_occurrence():
    sentences = [
        (["Aspirin", "eases", "breast", "cancer"], ["B-Chemical", "O", "B-Disease", "I-Disease"]),
        (["Flu", "and", "aspirin"], ["B-Disease", "O", "B-Chemical"]),
    ]
    by_type = entity_strings_by_type(sentences)
    assert list(by_type) == ["Chemical", "Disease"]
    assert by_type == {"Chemical": {"aspirin"}, "Disease": {"breast cancer", "flu"}}
    assert strings_of_types(by_type, {"Disease"}) == {"breast cancer", "flu"}
    assert strings_of_types(by_type) == {"aspirin", "breast cancer", "flu"}
    assert entity_strings(sentences, types={"Chemical"}) == {"aspirin"}
    with pytest.raises(ValueError, match="2 tags for 3 words"):
        entity_strings([(["a", "b", "c"], ["O", "O"])])
