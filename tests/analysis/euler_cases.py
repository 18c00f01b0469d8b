"""Region sizes of the Euler diagrams the analysis meets, for the tests of `euler` and `plots`."""
from typing import Dict

from hsl_bioner.analysis.sets import REGIONS

ZERO = {region.key: 0 for region in REGIONS}

# Region sizes of the cases the analysis meets, named by what they show.
CASES: Dict[str, Dict[str, int]] = {
    # The README's sanity check: gold as predictions (P = L), every training string in the test
    # set (T inside L): `bioner-analyze` on fixtures/data/disease_a with --predictions = --test.
    "P = L, T inside L": {**ZERO, "T_L_P": 12, "L_P_only": 5},
    "P = L, T overlaps L": {**ZERO, "T_L_P": 9, "L_P_only": 4, "T_only": 20},
    "T = L = P": {**ZERO, "T_L_P": 9},
    "T = L, P overlaps": {**ZERO, "T_L_P": 6, "T_L_only": 3, "P_only": 4},
    "disjoint": {**ZERO, "T_only": 10, "L_only": 5, "P_only": 3},
    "P empty": {**ZERO, "T_only": 10, "T_L_only": 4, "L_only": 3},
    "T and P empty": {**ZERO, "L_only": 4},
    "P inside L (no false positive)": {
        **ZERO, "T_L_P": 5, "T_L_only": 3, "L_P_only": 2, "L_only": 4, "T_only": 30
    },
    "T inside L, P overlaps both": {
        **ZERO, "T_L_P": 4, "T_L_only": 3, "L_P_only": 2, "L_only": 5, "P_only": 3
    },
    # The fixture MTL-XC model on disease_a: no false positive is a training entity, so
    # T ∩ C_L ∩ P is empty although T ∩ P is not.
    "no conflict (fixture)": {
        "T_L_P": 11, "T_L_only": 3, "L_P_only": 1, "L_only": 2, "T_P_only": 0, "P_only": 8,
        "T_only": 7,
    },
    "all seven": {
        "T_L_P": 5, "T_L_only": 3, "L_P_only": 2, "L_only": 4, "T_P_only": 1, "P_only": 2,
        "T_only": 30,
    },
}  # fmt: skip
