"""Entity strings and the set computation of the paper's data-level analysis (pure functions).

With T the entity strings of the training data (of the whole multi-task group), L the gold entity
strings of a test set, P the entity strings predicted on that test set and C_X the complement of
X, the paper reports per data set five ratios (`RATIOS`):

- generalisation = card(C_T ∩ L ∩ P) / card(C_T ∩ L): share of the test entities unseen in
  training that were found;
- coverage = card(T ∩ L) / card(L): share of the test entities seen in training;
- forgetting = card(C_P ∩ T ∩ L) / card(T ∩ L): share of the seen test entities never predicted;
- conflict = card(C_L ∩ P ∩ T) / card(C_L ∩ P): share of the false positives that are training
  entities (a hint of annotation conflicts between training and test data);
- over_prediction = (card(P) - card(L)) / card(L): how many more (or, negative, fewer) distinct
  strings were predicted than there are in the gold standard.

Sets hold *strings*, not occurrences, as in the paper: an entity string counts once however often
and wherever it occurs, whatever its type. An entity's string is its tokens joined by single
spaces, then normalised (`normalise_entity`).
"""
import re
import unicodedata
from dataclasses import dataclass, field
from typing import AbstractSet, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from hsl_bioner_runtime.tag_schemes import tags_to_spans

NORMALISATIONS: Dict[str, str] = {
    "case": "Unicode case-folding (str.casefold): 'Breast Cancer' = 'breast cancer'",
    "hyphen": (
        "no spaces around hyphens and dashes (- and U+2010-U+2015): 'Non - small' = "
        "'Non-small', for corpora tokenised differently around hyphens"
    ),
    "nfkc": (
        "Unicode NFKC: compatibility characters (full-width letters, ligatures, superscript "
        "digits, non-breaking spaces) replaced by their plain forms"
    ),
}
"""The optional normalisations of entity strings and what each does. Runs of whitespace are
always collapsed to one space and the string stripped, whatever is chosen."""

DEFAULT_NORMALISATION: Tuple[str, ...] = ("case",)

_HYPHEN = re.compile(r"\s*([-\u2010-\u2015])\s*")


def check_normalisation(normalisation: Iterable[str]) -> Tuple[str, ...]:
    """The normalisation names in their canonical order; raises `ValueError` for an unknown one.
    ``"none"`` may be given alone to ask for none (only whitespace is collapsed)."""
    names = list(normalisation)
    if names == ["none"]:
        return ()
    unknown = [name for name in names if name not in NORMALISATIONS]
    if unknown:
        raise ValueError(
            f"Unknown normalisation(s) {', '.join(map(repr, unknown))}; choose from "
            f"{', '.join(NORMALISATIONS)} (or 'none' alone)."
        )
    return tuple(name for name in NORMALISATIONS if name in names)


def normalise_entity(text: str, normalisation: Iterable[str] = DEFAULT_NORMALISATION) -> str:
    """The normalised form of an entity string.

    # Parameters

    text : `str`
        The entity string (its tokens joined by spaces).
    normalisation : `Iterable[str]`, optional (default = `("case",)`)
        Names from `NORMALISATIONS`, applied in the order nfkc, whitespace, hyphen, case (NFKC
        first because it can turn characters into spaces or hyphens; case-folding last because
        it does not interact with the others). Whitespace is always collapsed.
    """
    chosen = check_normalisation(normalisation)
    if "nfkc" in chosen:
        text = unicodedata.normalize("NFKC", text)
    text = " ".join(text.split())
    if "hyphen" in chosen:
        text = _HYPHEN.sub(r"\1", text)
    if "case" in chosen:
        text = text.casefold()
    return text


def entity_string(
    words: Sequence[str],
    start: int,
    end: int,
    normalisation: Iterable[str] = DEFAULT_NORMALISATION,
) -> str:
    """The normalised string of the entity ``words[start : end + 1]`` (``end`` inclusive, as in
    `tags_to_spans`): its tokens joined by single spaces, then `normalise_entity`."""
    return normalise_entity(" ".join(words[start : end + 1]), normalisation)


def entity_strings_by_type(
    sentences: Iterable[Tuple[Sequence[str], Sequence[str]]],
    scheme: str = "BIO",
    normalisation: Iterable[str] = DEFAULT_NORMALISATION,
) -> Dict[str, set]:
    """The normalised entity strings of tagged sentences, per entity type (types in order of
    first occurrence).

    # Parameters

    sentences : `Iterable[Tuple[Sequence[str], Sequence[str]]]`
        ``(words, tags)`` per sentence.
    scheme : `str`, optional (default = `"BIO"`)
        The tag scheme of ``tags`` (see `hsl_bioner_runtime.tag_schemes`); invalid sequences raise
        `TagSequenceError`.
    normalisation : `Iterable[str]`, optional (default = `("case",)`)
        See `normalise_entity`.
    """
    chosen = check_normalisation(normalisation)
    strings: Dict[str, set] = {}
    for words, tags in sentences:
        if len(words) != len(tags):
            raise ValueError(f"{len(tags)} tags for {len(words)} words: {list(words)!r}")
        for entity_type, start, end in tags_to_spans(tags, scheme):
            strings.setdefault(entity_type, set()).add(entity_string(words, start, end, chosen))
    return strings


def entity_strings(
    sentences: Iterable[Tuple[Sequence[str], Sequence[str]]],
    scheme: str = "BIO",
    normalisation: Iterable[str] = DEFAULT_NORMALISATION,
    types: Optional[AbstractSet[str]] = None,
) -> set:
    """The set of normalised entity strings of tagged sentences: `entity_strings_by_type` (see
    there for the parameters) of the kept types, merged. ``types`` keeps only entities of these
    types; all types when `None`. Types are otherwise ignored: the sets hold strings."""
    by_type = entity_strings_by_type(sentences, scheme, normalisation)
    return strings_of_types(by_type, types)


def strings_of_types(
    by_type: Mapping[str, AbstractSet[str]], types: Optional[AbstractSet[str]] = None
) -> set:
    """The union of the strings of ``types`` (all types when `None`) in ``by_type``."""
    return set().union(*(strings for t, strings in by_type.items() if types is None or t in types))


SETS: Tuple[Tuple[str, str], ...] = (("T", "training"), ("L", "test gold"), ("P", "predicted"))
"""The three sets, in the order of a region's membership, with what each holds."""


@dataclass(frozen=True)
class Region:
    """One of the seven regions of the Euler diagram of T, L and P.

    key : `str`
        Its name in `SetAnalysis.regions` and the JSON (``"T_L_only"``: in T and L, not in P).
    formula : `str`
        The set it is, e.g. ``"T ∩ L ∩ C_P"``.
    members : `Tuple[bool, bool, bool]`
        Whether its strings are in T, in L, in P.
    meaning : `str`
        What it says about the analysis, e.g. "seen in training, missed".
    """

    key: str
    formula: str
    members: Tuple[bool, bool, bool]
    meaning: str


REGIONS: Tuple[Region, ...] = (
    Region("T_L_P", "T ∩ L ∩ P", (True, True, True), "seen in training, found"),
    Region("T_L_only", "T ∩ L ∩ C_P", (True, True, False), "seen in training, missed"),
    Region("L_P_only", "C_T ∩ L ∩ P", (False, True, True), "unseen, found"),
    Region("L_only", "C_T ∩ L ∩ C_P", (False, True, False), "unseen, missed"),
    Region("T_P_only", "T ∩ C_L ∩ P", (True, False, True), "false positive, a training entity"),
    Region("P_only", "C_T ∩ C_L ∩ P", (False, False, True), "false positive, new string"),
    Region("T_only", "T ∩ C_L ∩ C_P", (True, False, False), "training only"),
)
"""The seven regions of the Euler diagram of T, L and P (every string of T ∪ L ∪ P lies in exactly
one), in the order of the table, the JSON and the picture's legend: the one definition that the
set computation, the table, the JSON and the pictures use."""


@dataclass(frozen=True)
class Ratio:
    """One of the paper's ratios: ``numerator / denominator`` as sums of region sizes (for
    over-prediction, the numerator is card(P) - card(L), which may be negative)."""

    key: str
    name: str
    formula: str
    meaning: str
    undefined_when: str


RATIOS: Tuple[Ratio, ...] = (
    Ratio(
        "generalisation",
        "generalisation",
        "|C_T ∩ L ∩ P| / |C_T ∩ L|",
        "share of the test entities unseen in training that were predicted",
        "no test entity is unseen in training (|C_T ∩ L| = 0)",
    ),
    Ratio(
        "coverage",
        "coverage",
        "|T ∩ L| / |L|",
        "share of the test entities seen in training",
        "the test set has no entity (|L| = 0)",
    ),
    Ratio(
        "forgetting",
        "forgetting",
        "|C_P ∩ T ∩ L| / |T ∩ L|",
        "share of the test entities seen in training that were not predicted",
        "no test entity is seen in training (|T ∩ L| = 0)",
    ),
    Ratio(
        "conflict",
        "conflict",
        "|C_L ∩ P ∩ T| / |C_L ∩ P|",
        "share of the false-positive strings that are training entities",
        "no predicted string is a false positive (|C_L ∩ P| = 0)",
    ),
    Ratio(
        "over_prediction",
        "over-prediction",
        "(|P| - |L|) / |L|",
        "relative excess of distinct predicted strings over gold strings (negative: fewer)",
        "the test set has no entity (|L| = 0)",
    ),
)
"""The five ratios, in the paper's order."""


@dataclass
class SetAnalysis:
    """The analysis of one data set.

    sizes : `Dict[str, int]`
        ``{"T": card(T), "L": card(L), "P": card(P)}``.
    regions : `Dict[str, int]`
        The size of each region of `REGIONS`, keyed by `Region.key`, in the order of `REGIONS`.
    fractions : `Dict[str, Tuple[int, int]]`
        ``(numerator, denominator)`` of each ratio of `RATIOS`.
    ratios : `Dict[str, Optional[float]]`
        Each ratio; `None` when its denominator is 0.
    undefined : `Dict[str, str]`
        For each `None` ratio, why it is undefined.
    examples : `Dict[str, List[str]]`
        Up to a few strings of each region (alphabetical), to look at; may be empty.
    """

    sizes: Dict[str, int]
    regions: Dict[str, int]
    fractions: Dict[str, Tuple[int, int]]
    ratios: Dict[str, Optional[float]]
    undefined: Dict[str, str] = field(default_factory=dict)
    examples: Dict[str, List[str]] = field(default_factory=dict)

    def to_json(self) -> Dict[str, object]:
        """A JSON-ready dict (ratios `None` become ``null``)."""
        return {
            "sizes": dict(self.sizes),
            "regions": dict(self.regions),
            "ratios": dict(self.ratios),
            "fractions": {key: list(value) for key, value in self.fractions.items()},
            "undefined": dict(self.undefined),
            "examples": {key: list(value) for key, value in self.examples.items()},
        }


def analyse_sets(
    train: AbstractSet[str],
    test: AbstractSet[str],
    predicted: AbstractSet[str],
    examples: int = 0,
) -> SetAnalysis:
    """The set sizes, region sizes and five ratios of T = ``train``, L = ``test`` and
    P = ``predicted``.

    # Parameters

    train : `AbstractSet[str]`
        T: the entity strings of the training data of the task group.
    test : `AbstractSet[str]`
        L: the gold entity strings of the test set.
    predicted : `AbstractSet[str]`
        P: the entity strings predicted on the test set.
    examples : `int`, optional (default = `0`)
        How many strings of each region to keep in `SetAnalysis.examples`.
    """
    region_of = {region.members: region.key for region in REGIONS}
    members: Dict[str, set] = {region.key: set() for region in REGIONS}
    # Every string of the union lies in exactly one region.
    for string in set(train) | set(test) | set(predicted):
        members[region_of[string in train, string in test, string in predicted]].add(string)
    regions = {key: len(strings) for key, strings in members.items()}
    n_train, n_test, n_predicted = len(train), len(test), len(predicted)
    fractions = {
        "generalisation": (regions["L_P_only"], regions["L_only"] + regions["L_P_only"]),
        "coverage": (regions["T_L_only"] + regions["T_L_P"], n_test),
        "forgetting": (regions["T_L_only"], regions["T_L_only"] + regions["T_L_P"]),
        "conflict": (regions["T_P_only"], regions["T_P_only"] + regions["P_only"]),
        "over_prediction": (n_predicted - n_test, n_test),
    }
    ratios: Dict[str, Optional[float]] = {}
    undefined: Dict[str, str] = {}
    for ratio in RATIOS:
        numerator, denominator = fractions[ratio.key]
        if denominator == 0:
            ratios[ratio.key] = None
            undefined[ratio.key] = ratio.undefined_when
        else:
            ratios[ratio.key] = numerator / denominator
    return SetAnalysis(
        sizes={"T": n_train, "L": n_test, "P": n_predicted},
        regions=regions,
        fractions=fractions,
        ratios=ratios,
        undefined=undefined,
        examples={key: sorted(strings)[:examples] for key, strings in members.items()}
        if examples > 0
        else {},
    )
