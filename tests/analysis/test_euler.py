"""The Euler diagram's geometry: equal sets are one circle, empty sets none, nested sets nested,
disjoint sets apart; every region with strings has its count inside its own area, away from the
outlines; regions without strings get no area where circles allow it. Checked against the
circles' own geometry (centres and radii), not against the layout's bookkeeping."""
import math
from typing import Dict, Optional, Tuple

import numpy as np
import pytest

from hsl_bioner.analysis.euler import EulerLayout, euler_layout, set_label_candidates
from hsl_bioner.analysis.sets import REGIONS, analyse_sets
from tests.analysis.euler_cases import CASES, ZERO

_MEMBERS = {region.key: region.members for region in REGIONS}


def region_by_geometry(layout: EulerLayout, x: float, y: float) -> Optional[str]:
    """The region of a point from the circles alone: inside the circle of a set = in the set."""
    inside = []
    for key in "TLP":
        circle = layout.circle_of(key)
        inside.append(
            circle is not None
            and math.hypot(x - circle.center[0], y - circle.center[1]) < circle.radius
        )
    if not any(inside):
        return None
    return next(key for key, members in _MEMBERS.items() if members == tuple(inside))


def region_areas(layout: EulerLayout, points: int = 400) -> Dict[str, float]:
    """Each region's share of the union of the circles, by sampling a grid over the circles."""
    x_min, x_max, y_min, y_max = layout.bounds()
    xs, ys = np.meshgrid(np.linspace(x_min, x_max, points), np.linspace(y_min, y_max, points))
    inside = {}
    for key in "TLP":
        circle = layout.circle_of(key)
        inside[key] = (
            np.zeros(xs.shape, bool)
            if circle is None
            else np.hypot(xs - circle.center[0], ys - circle.center[1]) < circle.radius
        )
    union = inside["T"] | inside["L"] | inside["P"]
    areas = {}
    for key, members in _MEMBERS.items():
        mask = union.copy()
        for set_key, member in zip("TLP", members):
            mask &= inside[set_key] if member else ~inside[set_key]
        areas[key] = mask.sum() / union.sum()
    return areas


def depth(layout: EulerLayout, point: Tuple[float, float]) -> float:
    """The distance from a point to the nearest circle outline."""
    return min(
        abs(math.hypot(point[0] - c.center[0], point[1] - c.center[1]) - c.radius)
        for c in layout.circles
    )


@pytest.fixture(scope="module")
def layouts() -> Dict[str, EulerLayout]:
    return {name: euler_layout(sizes) for name, sizes in CASES.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_every_region_with_strings_has_its_count_inside_its_own_area(layouts, name):
    layout, sizes = layouts[name], CASES[name]
    assert set(layout.labels) == {key for key, size in sizes.items() if size > 0}
    assert layout.undrawn == ()
    largest = max(circle.radius for circle in layout.circles)
    for key, point in layout.labels.items():
        assert region_by_geometry(layout, *point) == key, (name, key, point)
        # Not on an outline: the number sits inside the region, clear of its edges.
        assert depth(layout, point) > 0.04 * largest, (name, key, depth(layout, point))


@pytest.mark.parametrize("name", list(CASES))
def test_regions_without_strings_get_no_area(layouts, name):
    layout, sizes = layouts[name], CASES[name]
    areas = region_areas(layout)
    for key, size in sizes.items():
        if size == 0:
            assert areas[key] < 2e-3, (name, key, areas[key])
        else:
            assert areas[key] > 0.006, (name, key, areas[key])
    assert layout.stray == ()


@pytest.mark.parametrize("name", list(CASES))
def test_circle_areas_are_the_set_sizes(layouts, name):
    layout, sizes = layouts[name], CASES[name]
    set_sizes = {
        key: sum(size for region, size in sizes.items() if _MEMBERS[region]["TLP".index(key)])
        for key in "TLP"
    }
    assert layout.empty_sets == tuple(key for key in "TLP" if set_sizes[key] == 0)
    total = sum(sizes.values())
    for circle in layout.circles:
        for key in circle.sets:
            assert math.pi * circle.radius**2 == pytest.approx(set_sizes[key] / total)


def test_equal_sets_are_one_circle_and_nested_sets_are_nested(layouts):
    readme = layouts["P = L, T inside L"]
    assert [circle.sets for circle in readme.circles] == [("T",), ("L", "P")]
    t, lp = readme.circles
    assert math.dist(t.center, lp.center) + t.radius <= lp.radius
    # The count 5 (C_T ∩ L ∩ P) is in L = P outside T; 12 (T ∩ L ∩ P) inside T.
    assert not t.contains(*readme.labels["L_P_only"]) and lp.contains(*readme.labels["L_P_only"])
    assert t.contains(*readme.labels["T_L_P"])
    assert [c.sets for c in layouts["T = L = P"].circles] == [("T", "L", "P")]
    assert [c.sets for c in layouts["T = L, P overlaps"].circles] == [("T", "L"), ("P",)]
    disjoint = layouts["disjoint"].circles
    for first, second in [(0, 1), (0, 2), (1, 2)]:
        a, b = disjoint[first], disjoint[second]
        assert math.dist(a.center, b.center) > a.radius + b.radius
    assert layouts["T and P empty"].empty_sets == ("T", "P")


def test_two_circles_overlap_exactly_as_much_as_their_sets():
    sizes = {**ZERO, "T_L_P": 6, "T_only": 10, "L_P_only": 4}  # L = P, |T ∩ L| = 6 of 20
    layout = euler_layout(sizes)
    assert region_areas(layout, points=800)["T_L_P"] == pytest.approx(6 / 20, abs=0.005)


def test_no_strings_no_circles_and_the_layout_is_deterministic():
    assert euler_layout(ZERO).circles == () and euler_layout(ZERO).empty_sets == ("T", "L", "P")
    sizes = CASES["all seven"]
    assert euler_layout(sizes) == euler_layout(sizes)


def test_it_draws_what_analyse_sets_computes():
    analysis = analyse_sets({"a", "b", "c"}, {"b", "c", "d"}, {"c", "d", "e"})
    layout = euler_layout(analysis.regions)
    assert {key for key, size in analysis.regions.items() if size} == set(layout.labels)


def test_a_circle_inside_another_is_named_outside_both_with_a_leader():
    layout = euler_layout(CASES["P = L, T inside L"])
    first = set_label_candidates(layout, 0)[0]
    assert first.leader
    for circle in layout.circles:
        assert not circle.contains(*first.text)
    # A circle whose outline is visible is named at its outline, without a leader.
    free = set_label_candidates(layout, 1)[0]
    assert not free.leader and not layout.circles[0].contains(*free.anchor)
