"""The pictures as drawn: in each Euler diagram, every count is a text inside the circles of its
region's sets (read off the figure's own `Circle` patches), regions without strings are not
filled, circles are named outside them; the radar and the files."""
import functools
import math
from typing import Dict, List

import numpy as np
import pytest
from matplotlib.image import AxesImage
from matplotlib.patches import Circle
from matplotlib.text import Text

from hsl_bioner.analysis.plots import euler_figure, file_stem, write_plots
from hsl_bioner.analysis.sets import REGIONS, SetAnalysis, analyse_sets
from tests.analysis.euler_cases import CASES, ZERO

MEMBERS = {region.key: region.members for region in REGIONS}


@functools.cache
def figure_of(name: str):
    """The Euler diagram of a case of `CASES` (drawn once; the tests only read it)."""
    return euler_figure(name, analysis_of(CASES[name]))


def analysis_of(regions: Dict[str, int]) -> SetAnalysis:
    sizes = {
        key: sum(size for region, size in regions.items() if MEMBERS[region]["TLP".index(key)])
        for key in "TLP"
    }
    return SetAnalysis(sizes=sizes, regions=dict(regions), fractions={}, ratios={})


def circles_by_set(figure) -> Dict[str, Circle]:
    """Set key -> the drawn circle standing for it (a circle's label is its sets: "L = P")."""
    ax = figure.axes[0]
    circles = {}
    for patch in ax.patches:
        if isinstance(patch, Circle):
            for key in patch.get_label().split(" = "):
                circles[key] = patch
    return circles


def inside(circle: Circle, x: float, y: float) -> bool:
    cx, cy = circle.center
    return math.hypot(x - cx, y - cy) < circle.radius


def count_texts(figure) -> Dict[str, Text]:
    return {
        text.get_gid().split(":", 1)[1]: text
        for text in figure.axes[0].texts
        if (text.get_gid() or "").startswith("region:")
    }


@pytest.mark.parametrize("name", list(CASES))
def test_each_count_is_drawn_inside_the_circles_of_its_region(name):
    regions = CASES[name]
    figure = figure_of(name)
    circles = circles_by_set(figure)
    texts = count_texts(figure)
    assert set(texts) == {key for key, size in regions.items() if size > 0}
    largest = max(circle.radius for circle in circles.values())
    for key, text in texts.items():
        assert text.get_text() == str(regions[key])
        x, y = text.get_position()
        for set_key, member in zip("TLP", MEMBERS[key]):
            circle = circles.get(set_key)
            assert (circle is not None and inside(circle, x, y)) == member, (key, set_key)
        # Clear of every outline (the bug drew "12" on an edge).
        for circle in set(circles.values()):
            gap = abs(math.hypot(x - circle.center[0], y - circle.center[1]) - circle.radius)
            assert gap > 0.04 * largest, (key, circle.get_label(), gap)


@pytest.mark.parametrize("name", ["no conflict (fixture)", "P = L, T inside L", "all seven"])
def test_regions_without_strings_are_not_filled_and_regions_with_strings_are(name):
    regions = CASES[name]
    figure = figure_of(name)
    circles = circles_by_set(figure)
    image = next(a for a in figure.axes[0].get_children() if isinstance(a, AxesImage))
    pixels = np.asarray(image.get_array())
    x0, x1, y0, y1 = image.get_extent()
    rows, columns = pixels.shape[:2]
    xs = x0 + (np.arange(columns) + 0.5) * (x1 - x0) / columns
    ys = y0 + (np.arange(rows) + 0.5) * (y1 - y0) / rows
    grid_x, grid_y = np.meshgrid(xs, ys)
    member = {
        key: np.hypot(grid_x - c.center[0], grid_y - c.center[1]) < c.radius
        for key, c in circles.items()
    }
    no = np.zeros(grid_x.shape, bool)
    filled = pixels[..., 3] > 0
    union = member.get("T", no) | member.get("L", no) | member.get("P", no)
    for key, members in MEMBERS.items():
        mask = union.copy()
        for set_key, is_member in zip("TLP", members):
            mask &= member.get(set_key, no) if is_member else ~member.get(set_key, no)
        share = mask.sum() / union.sum()
        if regions[key] == 0:
            assert share < 2e-3, (key, share)  # no area ...
            assert not filled[mask].any() if share else True  # ... and nothing filled there
        else:
            assert filled[mask].mean() > 0.99, key
    assert not filled[~union].any()


def test_the_readme_sanity_check_picture():
    # `bioner-analyze` on fixtures/data/disease_a with --predictions = --test (P = L, T ⊂ L):
    # matplotlib-venn drew "5" (C_T ∩ L ∩ P) inside T and "12" on an edge.
    figure = figure_of("P = L, T inside L")
    circles = circles_by_set(figure)
    assert circles["L"] is circles["P"] and circles["T"] is not circles["L"]
    texts = count_texts(figure)
    assert set(texts) == {"T_L_P", "L_P_only"}
    five, twelve = texts["L_P_only"].get_position(), texts["T_L_P"].get_position()
    assert not inside(circles["T"], *five) and inside(circles["L"], *five)
    assert inside(circles["T"], *twelve)
    notes = [text.get_text() for text in figure.texts]
    assert any("L = P: the same strings, drawn as one circle." in note for note in notes)


def set_name_texts(figure) -> List[Text]:
    return [
        text
        for text in figure.axes[0].texts
        if not (text.get_gid() or "").startswith("region:") and "(" in text.get_text()
    ]


@pytest.mark.parametrize("name", list(CASES))
def test_circles_are_named_outside_every_circle_and_names_do_not_overlap(name):
    figure = figure_of(name)
    circles = set(circles_by_set(figure).values())
    names = set_name_texts(figure)
    assert len(names) == len(circles)
    renderer = figure.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in names]
    for text, box in zip(names, boxes):
        assert not any(inside(circle, *text.get_position()) for circle in circles), text
        assert sum(box.overlaps(other) for other in boxes) == 1, text.get_text()


def test_empty_sets_are_named_in_a_note_and_no_strings_says_so():
    figure = figure_of("P empty")
    assert "P" not in circles_by_set(figure)
    assert any("P (predicted) has no strings: no circle." in t.get_text() for t in figure.texts)
    nothing = euler_figure("none", analysis_of(ZERO))
    assert [t.get_text() for t in nothing.axes[0].texts] == ["no entity strings"]


def test_write_plots_names_files_safely(tmp_path):
    analyses = {
        "a/b": analyse_sets({"x"}, {"x"}, {"x"}),
        "a b": analyse_sets({"x"}, {"y"}, {"x"}),
    }
    paths = write_plots(analyses, tmp_path)
    assert [path.name for path in paths] == ["radar.png", "euler_a_b.png", "euler_a_b_2.png"]
    assert file_stem("../x") == "x" and file_stem("***") == "dataset"
