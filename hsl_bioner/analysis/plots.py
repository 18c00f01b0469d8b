"""Pictures of the data-level analysis: a radar chart of the five ratios across data sets and, per
data set, an Euler diagram of T, L and P. PNG files drawn by matplotlib's Agg renderer (no display).

Figures are made with `matplotlib.figure.Figure` and `FigureCanvasAgg`, not `pyplot`, so drawing
needs no display, leaves pyplot's global state (and the user's chosen backend) alone, and frees
each figure when it goes out of scope.
"""
import math
import re
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from hsl_bioner.analysis.euler import EulerLayout, euler_layout, set_label_candidates
from hsl_bioner.analysis.sets import RATIOS, REGIONS, SETS, SetAnalysis

_SET_COLOURS = {"T": "#4c72b0", "L": "#dd8452", "P": "#55a868"}
_SET_ALPHA = 0.45  # each set is a translucent layer: a region's colour is its sets' layers
_DPI = 110
_TABLE_TOP = 0.25  # figure fraction where the region table under an Euler diagram starts


def file_stem(name: str) -> str:
    """A file-name-safe form of a data-set name (letters, digits, '.', '_', '-')."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return stem or "dataset"


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)  # attaches itself: savefig renders with Agg
    return figure


def _radial_limits(values: Sequence[float]) -> Tuple[float, float, float]:
    """(rmin, rmax, step) of the radar's radial axis: 0 to 1 when every ratio is in [0, 1],
    stretched outwards to show larger or negative values, with a grid step of 0.25 or, for
    wide ranges, the smallest of 0.5, 1, 2.5, 5, 10, ... that keeps at most 8 rings."""
    low = min([0.0, *values])
    high = max([1.0, *values])
    step = 0.25
    multipliers = iter((2, 2, 2.5))  # 0.25 -> 0.5 -> 1 -> 2.5, then doubling: 5 -> 10 ...
    while (high - low) / step > 8:
        step *= next(multipliers, 2)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def plot_radar(
    analyses: Mapping[str, SetAnalysis], path: Union[str, Path], title: Optional[str] = None
) -> Path:
    """Draws the five ratios of each data set as one polygon of a radar chart and saves it.

    The ratios share one radial axis. Four of them lie in [0, 1]; over-prediction can be
    negative (fewer distinct strings predicted than gold) or above 1, so the axis runs from
    min(0, smallest value) to max(1, largest value), rounded outwards to 0.25. When it goes below
    0, the centre is that negative value (not 0) and the 0 level is drawn as a dashed black ring,
    so points inside the ring are negative. An undefined ratio (zero denominator) has no vertex:
    the polygon joins its neighbours, and the legend names the missing ratio.

    # Parameters

    analyses : `Mapping[str, SetAnalysis]`
        Data-set name -> its analysis, in legend order.
    path : `Union[str, Path]`
        The PNG file to write.
    title : `str`, optional
        The chart's title (default: "Data-level analysis").
    """
    angles = np.linspace(0.0, 2 * np.pi, len(RATIOS), endpoint=False)
    defined = [
        value
        for analysis in analyses.values()
        for value in analysis.ratios.values()
        if value is not None
    ]
    rmin, rmax, step = _radial_limits(defined)

    fig = _new_figure(10.0, 6.6)
    # Room on the left and right of the circle for the spoke labels, and on the right for the
    # legend.
    ax = fig.add_axes([0.2, 0.13, 0.44, 0.7], projection="polar")
    ax.set_theta_offset(np.pi / 2)  # first ratio at the top, then clockwise
    ax.set_theta_direction(-1)
    ax.set_ylim(rmin, rmax)
    ticks = np.arange(rmin, rmax + step / 2, step)
    ax.set_yticks(ticks)
    ax.set_yticklabels([f"{tick:g}" for tick in ticks], fontsize=8, color="#444444")
    for label in ax.get_yticklabels():
        # Polygons pass under the scale's labels: a light box keeps the numbers legible.
        label.set_bbox({"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 0.5})
        label.set_zorder(5)
    ax.set_rlabel_position(180 / len(RATIOS))  # between the first two spokes, clear of labels
    ax.set_xticks(angles)
    ax.set_xticklabels([f"{ratio.name}\n{ratio.formula}" for ratio in RATIOS], fontsize=9)
    # Labels left of the centre are right-aligned and vice versa, so none runs into the plot.
    for label, angle in zip(ax.get_xticklabels(), angles):
        x = math.sin(angle)  # clockwise from the top: the horizontal position is sin(angle)
        label.set_horizontalalignment("left" if x > 0.1 else "right" if x < -0.1 else "center")
    ax.tick_params(axis="x", pad=12)
    if rmin < 0:
        circle = np.linspace(0, 2 * np.pi, 200)
        ax.plot(circle, np.zeros_like(circle), color="black", linestyle="--", linewidth=1.3,
                zorder=4)

    colours = matplotlib.colormaps["tab10" if len(analyses) <= 10 else "tab20"].colors
    for index, (name, analysis) in enumerate(analyses.items()):
        colour = colours[index % len(colours)]
        points = [
            (angle, analysis.ratios[ratio.key])
            for angle, ratio in zip(angles, RATIOS)
            if analysis.ratios[ratio.key] is not None
        ]
        missing = [ratio.name for ratio in RATIOS if analysis.ratios[ratio.key] is None]
        label = name + (f" (n/a: {', '.join(missing)})" if missing else "")
        if not points:
            ax.plot([], [], color=colour, label=label)
            continue
        theta = [angle for angle, _ in points] + [points[0][0]]
        radius = [value for _, value in points] + [points[0][1]]
        ax.plot(theta, radius, color=colour, linewidth=1.8, marker="o", markersize=4, label=label)
        ax.fill(theta, radius, color=colour, alpha=0.12)

    fig.legend(
        loc="center left",
        bbox_to_anchor=(0.72, 0.5),
        fontsize=9,
        frameon=False,
        title="data set",
        title_fontsize=9,
    )
    note = "T: training entity strings, L: test gold, P: predicted; C_X: complement of X."
    if rmin < 0:
        note += f"\nRadial axis from {rmin:g}: the dashed ring is 0 (inside it: negative)."
    fig.text(0.02, 0.015, note, fontsize=8, color="#444444", va="bottom")
    fig.suptitle(title or "Data-level analysis", fontsize=13, x=0.42, y=0.975)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # "tight" grows the canvas to whatever sticks out (long legend entries), so nothing is cut.
    fig.savefig(path, dpi=_DPI, bbox_inches="tight", pad_inches=0.15)
    return path


def euler_figure(name: str, analysis: SetAnalysis) -> Figure:
    """The Euler diagram of T, L and P of one data set, with the table of the seven regions
    under it (the geometry is `hsl_bioner.analysis.euler.euler_layout`'s).

    Circle areas are proportional to the numbers of strings, region areas roughly so. Sets with
    the same strings are one circle ("L = P"), an empty set has none, and a set inside another is
    drawn inside it; every region with strings is filled and carries its count, inside its own
    area; a region without strings is not filled (and, where circles allow, has no area). The
    table under the diagram lists all seven counts with what they mean, since small regions can
    be too small to read.

    For tests and callers that check the picture: each circle is a `Circle` patch whose label is
    its sets joined by " = " (e.g. "L = P"); each count is a text whose gid is
    ``"region:<key>"`` (`REGIONS` keys).

    # Parameters

    name : `str`
        The data set's name: the title.
    analysis : `SetAnalysis`
        Its analysis.
    """
    fig = _new_figure(6.4, 7.0)
    ax = fig.add_axes([0.04, 0.3, 0.92, 0.62])
    layout = euler_layout(analysis.regions)
    if not layout.circles:
        ax.text(0.5, 0.5, "no entity strings", ha="center", va="center", fontsize=12)
        ax.set_axis_off()
    else:
        _draw_euler(ax, layout, analysis)
    fig.suptitle(name, fontsize=14, fontweight="bold", y=0.975)
    _region_table(fig, analysis)
    notes = _euler_notes(layout, analysis)
    if notes:
        fig.text(0.04, 0.045, "\n".join(notes), fontsize=8.5, color="#444444", va="top")
    return fig


def plot_euler(name: str, analysis: SetAnalysis, path: Union[str, Path]) -> Path:
    """Draws `euler_figure` of one data set and saves it as a PNG file at ``path``."""
    fig = euler_figure(name, analysis)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI, bbox_inches="tight", pad_inches=0.15)
    return path


def _region_colour(members: Sequence[str]) -> np.ndarray:
    """The colour of a region inside the circles of ``members``: their translucent layers over
    white, as overlapping transparent patches would look."""
    colour = np.ones(3)
    for key in members:
        colour = (1 - _SET_ALPHA) * colour + _SET_ALPHA * np.array(to_rgb(_SET_COLOURS[key]))
    return colour


def _draw_euler(ax, layout: EulerLayout, analysis: SetAnalysis) -> None:
    set_keys = [key for key, _ in SETS]
    # Regions are filled from a fine raster of the circles' geometry (matplotlib cannot fill
    # the difference of two circles as a patch); the circles' outlines are drawn over its edges.
    x, y, codes = layout.grid(pixels=900)
    image = np.zeros(codes.shape + (4,))
    for index, region in enumerate(REGIONS):
        if analysis.regions[region.key] > 0:
            members = [key for key, inside in zip(set_keys, region.members) if inside]
            image[codes == index] = (*_region_colour(members), 1.0)
    step = x[1] - x[0]
    extent = (x[0] - step / 2, x[-1] + step / 2, y[0] - step / 2, y[-1] + step / 2)
    ax.imshow(image, extent=extent, origin="lower", interpolation="antialiased", zorder=1)
    x_min, x_max, y_min, y_max = layout.bounds()
    margin = 0.05 * max(x_max - x_min, y_max - y_min)
    ax.set_xlim(x_min - margin, x_max + margin)
    ax.set_ylim(y_min - margin, y_max + margin)
    ax.set_aspect("equal")
    ax.set_axis_off()
    for circle in layout.circles:
        ax.add_patch(
            Circle(
                circle.center,
                circle.radius,
                fill=False,
                edgecolor="#333333",
                linewidth=1.0,
                label=" = ".join(circle.sets),
                zorder=2,
            )
        )
    _draw_set_labels(ax, layout, analysis)
    for key, (label_x, label_y) in layout.labels.items():
        ax.text(
            label_x,
            label_y,
            str(analysis.regions[key]),
            ha="center",
            va="center",
            fontsize=11,
            gid=f"region:{key}",
            zorder=3,
        )


def _draw_set_labels(ax, layout: EulerLayout, analysis: SetAnalysis) -> None:
    """Names each circle ("T (training)" and its size) at the first of its
    `set_label_candidates` whose text overlaps no circle, no other name and not the region
    table under the diagram (measured with the figure's renderer)."""
    figure = ax.get_figure()
    renderer = figure.canvas.get_renderer()
    lowest = figure.transFigure.transform((0.0, _TABLE_TOP + 0.01))[1]
    circles = [
        (ax.transData.transform(circle.center), ax.transData.transform(
            (circle.center[0] + circle.radius, circle.center[1])
        )[0] - ax.transData.transform(circle.center)[0])
        for circle in layout.circles
    ]
    meanings = dict(SETS)
    placed = []
    for index, circle in enumerate(layout.circles):
        if len(circle.sets) == 1:
            name = f"{circle.sets[0]} ({meanings[circle.sets[0]]})"
        else:
            names = " = ".join(meanings[key] for key in circle.sets)
            name = f"{' = '.join(circle.sets)}\n({names})"
        text = f"{name}\n{analysis.sizes[circle.sets[0]]}"
        candidates = set_label_candidates(layout, index)
        for number, place in enumerate(candidates):
            label = _set_label(ax, circle, text, place.text)
            box = label.get_window_extent(renderer).expanded(1.1, 1.3)
            fits = box.y0 >= lowest and not any(box.overlaps(other) for other in placed)
            fits = fits and not any(
                _box_meets_circle(box, centre, radius) for centre, radius in circles
            )
            if fits or number == len(candidates) - 1:
                placed.append(box)
                if place.leader:
                    ax.plot(
                        [place.anchor[0], place.text[0]],
                        [place.anchor[1], place.text[1]],
                        color="#333333",
                        linewidth=0.8,
                        zorder=4,
                    )
                break
            label.remove()


def _set_label(ax, circle, text: str, position):
    """The name of a circle at ``position``, aligned away from the circle."""
    dx, dy = position[0] - circle.center[0], position[1] - circle.center[1]
    norm = math.hypot(dx, dy) or 1.0
    ha = "left" if dx / norm > 0.25 else "right" if dx / norm < -0.25 else "center"
    va = "bottom" if dy / norm > 0.25 else "top" if dy / norm < -0.25 else "center"
    return ax.text(
        *position,
        text,
        ha=ha,
        va=va,
        fontsize=11,
        fontweight="bold",
        multialignment="center",
        zorder=4,
    )


def _box_meets_circle(box, centre, radius: float) -> bool:
    """Whether a display-space box and disc overlap."""
    nearest_x = min(max(centre[0], box.x0), box.x1)
    nearest_y = min(max(centre[1], box.y0), box.y1)
    return math.hypot(nearest_x - centre[0], nearest_y - centre[1]) < radius


def _euler_notes(layout: EulerLayout, analysis: SetAnalysis) -> List[str]:
    """What the picture cannot show by itself: merged and missing circles, and regions the
    circles could not draw as they are."""
    formulas = {region.key: region.formula for region in REGIONS}
    meanings = dict(SETS)
    notes = []
    for circle in layout.circles:
        if len(circle.sets) > 1:
            notes.append(f"{' = '.join(circle.sets)}: the same strings, drawn as one circle.")
    for key in layout.empty_sets:
        if layout.circles:
            notes.append(f"{key} ({meanings[key]}) has no strings: no circle.")
    for key in layout.undrawn:
        notes.append(
            f"{formulas[key]} ({analysis.regions[key]}) has no area: circles cannot draw it here."
        )
    if layout.stray:
        notes.append(
            "Not filled: " + ", ".join(formulas[key] for key in layout.stray)
            + ", without strings (circles cannot avoid the area here)."
        )
    return notes


def _region_table(fig: Figure, analysis: SetAnalysis) -> None:
    """Writes the seven region counts, their sets and meanings under the diagram, as three
    text columns (each column one multi-line text, so rows line up whatever the glyph widths)."""
    columns = (
        (0.16, "left", [region.formula for region in REGIONS]),
        (0.43, "right", [str(analysis.regions[region.key]) for region in REGIONS]),
        (0.47, "left", [region.meaning for region in REGIONS]),
    )
    for x, align, lines in columns:
        fig.text(
            x,
            _TABLE_TOP,
            "\n".join(lines),
            fontsize=9.5,
            ha=align,
            multialignment=align,
            va="top",
            linespacing=1.4,
        )


def write_plots(analyses: Mapping[str, SetAnalysis], directory: Union[str, Path]) -> List[Path]:
    """Writes ``radar.png`` (all data sets) and ``euler_<name>.png`` (one per data set) into
    ``directory`` (created if needed) and returns their paths."""
    directory = Path(directory)
    paths = [plot_radar(analyses, directory / "radar.png")]
    stems: Dict[str, int] = {}
    for name, analysis in analyses.items():
        stem = file_stem(name)
        # Names that differ only in unsafe characters must not overwrite each other's picture.
        stems[stem] = stems.get(stem, 0) + 1
        if stems[stem] > 1:
            stem = f"{stem}_{stems[stem]}"
        paths.append(plot_euler(name, analysis, directory / f"euler_{stem}.png"))
    return paths
