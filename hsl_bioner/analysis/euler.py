"""The geometry of the Euler diagram of T, L and P: where the circles go and where each region's
count is written (numpy and scipy, no drawing; `hsl_bioner.analysis.plots` draws it).

The rules, in order of priority:

1. Sets with the same strings are ONE circle (e.g. "L = P" when the gold standard is given as the
   predictions); an empty set has no circle.
2. Every region with strings has an area, and its count is written inside it, at the point of the
   region farthest from its boundary.
3. A region without strings has no area where circles allow it: a set inside another is drawn
   inside it, disjoint sets apart. (Three circles cannot show every combination: what they cannot
   avoid is reported in `EulerLayout.stray`, and drawn unfilled.)
4. Circle areas are exactly proportional to the set sizes; region areas approximately.

Why not matplotlib-venn's layout (which drew these diagrams before): its default layout fixes the
pairwise overlaps and leaves the triple region to chance, so a region without strings (e.g.
T ∩ C_L ∩ P when no false positive is a training entity) routinely gets an area; identical sets
give coincident circles whose regions are degenerate, so counts land in the wrong region or on an
edge; a circle strictly inside another is a region with a hole, which its region geometry refuses;
and its cost-based layout needs shapely, which we do not depend on. Here two circles are placed
exactly from their overlap, and three by minimising a cost that encodes the rules above.
"""
import itertools
import math
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from scipy.ndimage import distance_transform_edt
from scipy.optimize import brentq, minimize
from scipy.special import expit

from hsl_bioner.analysis.sets import REGIONS, SETS

SET_KEYS: Tuple[str, ...] = tuple(key for key, _ in SETS)

Point = Tuple[float, float]
Membership = Tuple[bool, ...]

# A region with strings needs room for its count: at least this share of the diagram's area
# (the regions' target areas sum to 1) -- a disc a little wider than a two-digit number at the
# size the diagrams are drawn.
_LABEL_ROOM = 0.01
# A region without strings is "stray" when the circles leave it more than this share of the area.
_STRAY_AREA = 1e-3
_GRID = 480  # pixels along the longer side of the grid that places labels and finds regions


@dataclass(frozen=True)
class EulerCircle:
    """One circle of the diagram.

    sets : `Tuple[str, ...]`
        The sets it stands for (several when they hold the same strings), e.g. ``("L", "P")``.
    center : `Tuple[float, float]`
    radius : `float`
    """

    sets: Tuple[str, ...]
    center: Point
    radius: float

    def contains(self, x, y):
        """Whether the point(s) lie strictly inside the circle (works on arrays)."""
        return (np.asarray(x) - self.center[0]) ** 2 + (
            np.asarray(y) - self.center[1]
        ) ** 2 < self.radius**2


@dataclass
class EulerLayout:
    """The diagram of one analysis.

    circles : `Tuple[EulerCircle, ...]`
        The circles, in the order of their first set (T, L, P).
    labels : `Dict[str, Tuple[float, float]]`
        Region key (`REGIONS`) -> where its count is written, for every region with strings
        (except `undrawn` ones).
    empty_sets : `Tuple[str, ...]`
        Sets without strings (no circle).
    undrawn : `Tuple[str, ...]`
        Regions with strings that the circles could not give an area (normally none).
    stray : `Tuple[str, ...]`
        Regions without strings that the circles could not avoid (left unfilled when drawn).
    """

    circles: Tuple[EulerCircle, ...]
    labels: Dict[str, Point] = field(default_factory=dict)
    empty_sets: Tuple[str, ...] = ()
    undrawn: Tuple[str, ...] = ()
    stray: Tuple[str, ...] = ()

    def circle_of(self, set_key: str) -> Optional[EulerCircle]:
        """The circle that stands for ``set_key`` (None for an empty set)."""
        return next((circle for circle in self.circles if set_key in circle.sets), None)

    def region_at(self, x: float, y: float) -> Optional[str]:
        """The key of the region the point lies in, by the circles' geometry (None outside)."""
        codes = self.region_codes(np.array([x]), np.array([y]))
        return None if codes[0] < 0 else REGIONS[codes[0]].key

    def region_codes(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The index in `REGIONS` of the region of each point (-1: outside every circle)."""
        inside = []
        for set_key in SET_KEYS:
            circle = self.circle_of(set_key)
            inside.append(np.zeros(np.shape(x), bool) if circle is None else circle.contains(x, y))
        codes = np.full(np.shape(x), -1, int)
        for index, region in enumerate(REGIONS):
            match = np.ones(np.shape(x), bool)
            for member, points_inside in zip(region.members, inside):
                match &= points_inside if member else ~points_inside
            codes[match] = index
        return codes

    def bounds(self) -> Tuple[float, float, float, float]:
        """(x_min, x_max, y_min, y_max) of the circles."""
        if not self.circles:
            return (-1.0, 1.0, -1.0, 1.0)
        return (
            min(c.center[0] - c.radius for c in self.circles),
            max(c.center[0] + c.radius for c in self.circles),
            min(c.center[1] - c.radius for c in self.circles),
            max(c.center[1] + c.radius for c in self.circles),
        )

    def grid(self, pixels: int = _GRID) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel centres over the circles' bounds (plus a margin) and their region codes:
        ``(x [columns], y [rows], codes [rows, columns])``."""
        x_min, x_max, y_min, y_max = self.bounds()
        step = max(x_max - x_min, y_max - y_min) / pixels
        x = np.arange(x_min - 2 * step, x_max + 2 * step, step) + step / 2
        y = np.arange(y_min - 2 * step, y_max + 2 * step, step) + step / 2
        codes = self.region_codes(*np.meshgrid(x, y))
        return x, y, codes


def euler_layout(region_sizes: Mapping[str, int]) -> EulerLayout:
    """The Euler diagram of the seven region sizes of an analysis (`SetAnalysis.regions`).

    Deterministic: the same sizes give the same layout.
    """
    counts = {region.key: int(region_sizes[region.key]) for region in REGIONS}
    total = sum(counts.values())
    set_sizes = [
        sum(counts[r.key] for r in REGIONS if r.members[i]) for i in range(len(SET_KEYS))
    ]
    empty = tuple(key for key, size in zip(SET_KEYS, set_sizes) if size == 0)
    if total == 0:
        return EulerLayout(circles=(), empty_sets=empty)

    groups = _merge_equal_sets(counts, set_sizes)
    # The regions of the circles: a region with strings has the same membership for every set
    # of a circle (equal sets), so it maps to one membership of the circles.
    targets: Dict[Membership, float] = {}
    for region in REGIONS:
        if counts[region.key]:
            membership = tuple(region.members[group[0]] for group in groups)
            targets[membership] = counts[region.key] / total
    areas = [set_sizes[group[0]] / total for group in groups]
    radii = [math.sqrt(area / math.pi) for area in areas]
    centers = _place(radii, targets)
    # Centre the picture on the origin.
    x_mid, y_mid = (
        (min(c[axis] - r for c, r in zip(centers, radii))
         + max(c[axis] + r for c, r in zip(centers, radii))) / 2
        for axis in (0, 1)
    )
    circles = tuple(
        EulerCircle(
            tuple(SET_KEYS[i] for i in group),
            (float(center[0] - x_mid), float(center[1] - y_mid)),
            float(radius),
        )
        for group, center, radius in zip(groups, centers, radii)
    )
    layout = EulerLayout(circles=circles, empty_sets=empty)
    _place_labels(layout, counts)
    return layout


def _merge_equal_sets(counts: Mapping[str, int], set_sizes: Sequence[int]) -> List[List[int]]:
    """The non-empty sets grouped by equality (indices into `SET_KEYS`): two sets are equal when
    every region in one but not the other is empty."""
    groups: List[List[int]] = []
    for i, size in enumerate(set_sizes):
        if size == 0:
            continue
        for group in groups:
            j = group[0]
            if all(counts[r.key] == 0 for r in REGIONS if r.members[i] != r.members[j]):
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def _lens_area(r1: float, r2: float, d: float) -> float:
    """The area of the intersection of two circles of radii ``r1``, ``r2`` whose centres are
    ``d`` apart."""
    if d >= r1 + r2:
        return 0.0
    if d <= abs(r1 - r2):
        return math.pi * min(r1, r2) ** 2
    a1 = r1**2 * math.acos((d**2 + r1**2 - r2**2) / (2 * d * r1))
    a2 = r2**2 * math.acos((d**2 + r2**2 - r1**2) / (2 * d * r2))
    kite = 0.5 * math.sqrt((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2))
    return a1 + a2 - kite


def _gap(r1: float, r2: float) -> float:
    """The space between two disjoint circles."""
    return 0.12 * (r1 + r2)


def _pair_distance(r1: float, r2: float, lens: float, nested: bool) -> float:
    """The distance between two circle centres that gives their intersection the area ``lens``:
    apart with a gap when it is 0, the smaller well inside the larger when ``nested`` (the
    smaller set is a subset of the larger; off-centre, so the rest of the larger has room for a
    label), else exact."""
    small, large = sorted((r1, r2))
    if lens <= 0:
        return r1 + r2 + _gap(r1, r2)
    if nested:
        return 0.8 * (large - small)
    return brentq(lambda d: _lens_area(r1, r2, d) - lens, large - small, large + small)


def _place(radii: Sequence[float], targets: Mapping[Membership, float]) -> List[Point]:
    """Centres of the circles: exact from the pairwise overlaps for one or two circles; for three,
    the pairwise start refined by `_refine`."""
    k = len(radii)
    if k == 1:
        return [(0.0, 0.0)]

    def lens(i: int, j: int) -> float:
        return sum(t for m, t in targets.items() if m[i] and m[j])

    def nested(i: int, j: int) -> bool:
        # The smaller circle's set lies inside the other one: no region holds it without the other.
        small = i if radii[i] <= radii[j] else j
        other = j if small == i else i
        return lens(i, j) > 0 and not any(m[small] and not m[other] for m in targets)

    distances = {
        (i, j): _pair_distance(radii[i], radii[j], lens(i, j), nested(i, j))
        for i, j in itertools.combinations(range(k), 2)
    }
    if k == 2:
        return [(0.0, 0.0), (distances[0, 1], 0.0)]
    d01, d02, d12 = distances[0, 1], distances[0, 2], distances[1, 2]
    x2 = (d02**2 - d12**2 + d01**2) / (2 * d01) if d01 > 0 else 0.0
    y2 = -math.sqrt(max(d02**2 - x2**2, 0.0))
    return _refine(radii, targets, (d01, x2, y2))


def _unit_disc(points: int = 500) -> np.ndarray:
    """Evenly spread points of the unit disc (a sunflower pattern), ``[points, 2]``."""
    index = np.arange(points) + 0.5
    rho = np.sqrt(index / points)
    theta = index * math.pi * (3 - math.sqrt(5))
    return np.stack([rho * np.cos(theta), rho * np.sin(theta)], axis=1)


def _refine(
    radii: Sequence[float], targets: Mapping[Membership, float], start: Tuple[float, float, float]
) -> List[Point]:
    """Three centres, ``(0, 0)``, ``(x1, 0)`` and ``(x2, y2)``, that minimise the cost of the
    rules of this module: a region with strings without room for its count costs most, then a
    region without strings that has area, then the relative error of each region's area. Areas
    are measured on points spread over each circle, with soft edges, so that the cost changes
    smoothly with the centres; Nelder-Mead from the pairwise start and from starts with the third
    circle at six angles around the first two, keeping the best (deterministic)."""
    disc_x, disc_y = _unit_disc().T
    r = np.asarray(radii, float)
    areas = math.pi * r**2
    # The seven regions by membership (in circle 0, 1, 2), each measured on the points of its
    # first circle i, from the means over those points of a = in j, b = in h (the other two
    # circles, j < h) and a * b: E[in j and in h] = E[ab], E[in j, not h] = E[a] - E[ab], ...
    memberships = [m for m in itertools.product((False, True), repeat=3) if any(m)]
    first = [m.index(True) for m in memberships]
    others = [tuple(j for j in range(3) if j != i) for i in range(3)]
    wanted = np.array([targets.get(m, 0.0) for m in memberships])
    empty = wanted == 0
    softness = 0.02 * float(r.mean())
    pairs = list(itertools.combinations(range(3), 2))
    reach = np.array([r[i] + r[j] + _gap(r[i], r[j]) for i, j in pairs])
    rows = np.arange(3)
    column_j = np.array([others[i][0] for i in range(3)])
    column_h = np.array([others[i][1] for i in range(3)])

    def cost(params: np.ndarray) -> float:
        cx = np.array([0.0, params[0], params[1]])
        cy = np.array([0.0, 0.0, params[2]])
        # inside[i, :, j]: soft membership in circle j of the points of circle i.
        x = cx[:, None] + r[:, None] * disc_x  # [3, n]
        y = cy[:, None] + r[:, None] * disc_y
        distance = np.sqrt((x[:, :, None] - cx) ** 2 + (y[:, :, None] - cy) ** 2)
        inside = expit((r - distance) / softness)
        mean_in = inside.mean(axis=1)  # [i, j]
        mean_both = (inside[rows, :, column_j] * inside[rows, :, column_h]).mean(axis=1)
        area = np.empty(len(memberships))
        for k, (m, i) in enumerate(zip(memberships, first)):
            j, h = others[i]
            a, b, ab = mean_in[i, j], mean_in[i, h], mean_both[i]
            share = (
                (ab if m[h] else a - ab) if m[j] else (b - ab if m[h] else 1.0 - a - b + ab)
            )
            area[k] = areas[i] * share
        total = float(10.0 * area[empty].sum() / _LABEL_ROOM)
        total += float(((area[~empty] - wanted[~empty]) ** 2 / wanted[~empty]).sum())
        cramped = np.clip(1.0 - area[~empty] / _LABEL_ROOM, 0.0, None)
        total += float(100.0 * (cramped**2).sum())
        # Circles do not drift apart further than disjoint circles are drawn.
        apart = np.array([math.hypot(cx[i] - cx[j], cy[i] - cy[j]) for i, j in pairs])
        total += float((np.clip(apart - reach, 0.0, None) ** 2).sum())
        return total

    d01, x2, y2 = start
    starts = [np.array([d01, x2, y2])]
    # The third circle at other angles around the middle of the first two.
    spread = math.hypot(x2 - d01 / 2, y2) or float(r.mean())
    for angle in np.linspace(0, 2 * math.pi, 6, endpoint=False):
        starts.append(
            np.array([d01, d01 / 2 + spread * math.cos(angle), spread * math.sin(angle)])
        )
    scale = float(r.max())
    best = None
    for x0 in starts:
        result = minimize(
            cost,
            x0,
            method="Nelder-Mead",
            options={"xatol": 1e-4 * scale, "fatol": 1e-6, "maxiter": 500},
        )
        if best is None or result.fun < best.fun - 1e-9:
            best = result
    x1, x2, y2 = (float(v) for v in best.x)
    return [(0.0, 0.0), (x1, 0.0), (x2, y2)]


def _place_labels(layout: EulerLayout, counts: Mapping[str, int]) -> None:
    """Fills in the label positions (the pixel of each region farthest from its boundary) and the
    undrawn and stray regions."""
    x, y, codes = layout.grid()
    pixel_area = (x[1] - x[0]) * (y[1] - y[0])
    union = float((codes >= 0).sum()) * pixel_area
    undrawn, stray = [], []
    for index, region in enumerate(REGIONS):
        mask = codes == index
        if counts[region.key] == 0:
            if mask.sum() * pixel_area > _STRAY_AREA * union:
                stray.append(region.key)
            continue
        if not mask.any():
            undrawn.append(region.key)
            continue
        depth = distance_transform_edt(mask)
        row, column = np.unravel_index(int(np.argmax(depth)), depth.shape)
        layout.labels[region.key] = (float(x[column]), float(y[row]))
    layout.undrawn = tuple(undrawn)
    layout.stray = tuple(stray)


class LabelPlace(NamedTuple):
    """Where a circle's name may go: ``text``, just outside the circle's outline at ``anchor``;
    ``leader``: the text stands off the outline (the circle lies inside another), joined to the
    anchor by a line."""

    anchor: Point
    text: Point
    leader: bool


def set_label_candidates(layout: EulerLayout, index: int) -> List[LabelPlace]:
    """Places for the name of circle ``index``, best first.

    First the anchors on the visible part of the outline (outside the other circles), nearest
    the circle's preferred side first: away from the middle of the circles (when circles share
    their centre: upper left for the first circle, upper right for the second, lower right for
    the third; the top for a single circle); then, for a circle inside
    another, texts outside all circles in each direction, which the picture joins to their
    anchor with a line. The picture takes the first whose text overlaps nothing.
    """
    circle = layout.circles[index]
    others = [other for j, other in enumerate(layout.circles) if j != index]
    pad = 0.06 * max(c.radius for c in layout.circles)
    middle = np.mean([c.center for c in layout.circles], axis=0)
    away = (circle.center[0] - middle[0], circle.center[1] - middle[1])
    if math.hypot(*away) > pad:
        preferred = math.degrees(math.atan2(away[1], away[0]))
    else:
        preferred = 90.0 if len(layout.circles) == 1 else (135.0, 45.0, 315.0)[index]

    def on_circle(angle: float, distance: float) -> Point:
        theta = math.radians(angle)
        return (
            circle.center[0] + distance * math.cos(theta),
            circle.center[1] + distance * math.sin(theta),
        )

    def clear(point: Point) -> bool:
        return not any(
            math.hypot(point[0] - o.center[0], point[1] - o.center[1]) < o.radius + pad / 2
            for o in others
        )

    angles = [preferred + offset for offset in sorted(range(-180, 180, 5), key=abs)]
    visible = [
        LabelPlace(on_circle(angle, circle.radius), on_circle(angle, circle.radius + pad), False)
        for angle in angles
        if clear(on_circle(angle, circle.radius))
    ]
    led = []
    for angle in angles[::3]:
        distance = circle.radius + pad
        while not clear(on_circle(angle, distance)):
            distance += pad / 2
        led.append(
            LabelPlace(on_circle(angle, circle.radius), on_circle(angle, distance + pad), True)
        )
    return visible + led
