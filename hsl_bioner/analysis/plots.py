"""Pictures of the data-level analysis: a radar chart of the five ratios across data sets and, per
data set, an Euler diagram of T, L and P. PNG files drawn by matplotlib's Agg renderer (no display).

Figures are made with `matplotlib.figure.Figure` and `FigureCanvasAgg`, not `pyplot`, so drawing
needs no display, leaves pyplot's global state (and the user's chosen backend) alone, and frees
each figure when it goes out of scope.
"""
import math
import re
import warnings
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hsl_bioner.analysis.sets import RATIOS, REGIONS, SetAnalysis

# matplotlib-venn's codes of the regions: one digit per set (T, L, P), 1 = inside.
_VENN_CODES: Dict[str, str] = {
    "T_only": "100",
    "L_only": "010",
    "T_L_only": "110",
    "P_only": "001",
    "T_P_only": "101",
    "L_P_only": "011",
    "T_L_P": "111",
}
_SET_COLOURS = ("#4c72b0", "#dd8452", "#55a868")  # T, L, P
_DPI = 110


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


def plot_euler(name: str, analysis: SetAnalysis, path: Union[str, Path]) -> Path:
    """Draws the Euler diagram of T, L and P of one data set and saves it.

    Areas are roughly proportional to the numbers of strings (matplotlib-venn's layout: exact
    for each circle, approximate for the overlaps), so T, usually far larger than L and P, is
    the big circle. Every region with strings carries its count (empty regions are unlabelled),
    and the table under the diagram lists all seven counts with what they mean, since small
    regions of an area-proportional diagram can be too small to label legibly.

    # Parameters

    name : `str`
        The data set's name: the title.
    analysis : `SetAnalysis`
        Its analysis.
    path : `Union[str, Path]`
        The PNG file to write.
    """
    from matplotlib_venn import venn3, venn3_circles

    fig = _new_figure(6.4, 7.0)
    ax = fig.add_axes([0.04, 0.3, 0.92, 0.62])
    sizes = analysis.sizes
    set_labels = (
        f"T (training)\n{sizes['T']}",
        f"L (test gold)\n{sizes['L']}",
        f"P (predicted)\n{sizes['P']}",
    )
    subsets = {code: analysis.regions[key] for key, code in _VENN_CODES.items()}
    if sum(subsets.values()) == 0:
        ax.text(0.5, 0.5, "no entity strings", ha="center", va="center", fontsize=12)
        ax.set_axis_off()
    else:
        with warnings.catch_warnings():
            # An empty set has a zero-area circle, which matplotlib-venn warns about: fine here.
            warnings.simplefilter("ignore")
            diagram = venn3(
                subsets, set_labels=set_labels, set_colors=_SET_COLOURS, alpha=0.45, ax=ax
            )
            venn3_circles(subsets, linewidth=1.0, color="#333333", ax=ax)
        for key, code in _VENN_CODES.items():
            label = diagram.get_label_by_id(code)
            if label is not None:
                label.set_fontsize(11)
                if analysis.regions[key] == 0:
                    label.set_text("")
        for label in diagram.set_labels:
            if label is not None:
                label.set_fontsize(11)
                label.set_fontweight("bold")
                label.set_multialignment("center")
    fig.suptitle(name, fontsize=14, fontweight="bold", y=0.975)
    _region_table(fig, analysis)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI, bbox_inches="tight", pad_inches=0.15)
    return path


# What each region means for the analysis, for the table under an Euler diagram.
_REGION_MEANINGS: Dict[str, str] = {
    "T_L_P": "seen in training, found",
    "T_L_only": "seen in training, missed",
    "L_P_only": "unseen, found",
    "L_only": "unseen, missed",
    "T_P_only": "false positive, a training entity",
    "P_only": "false positive, new string",
    "T_only": "training only",
}


def _region_table(fig: Figure, analysis: SetAnalysis) -> None:
    """Writes the seven region counts, their sets and meanings under the diagram, as three
    text columns (each column one multi-line text, so rows line up whatever the glyph widths)."""
    keys = list(_REGION_MEANINGS)
    columns = (
        (0.16, "left", [REGIONS[key] for key in keys]),
        (0.43, "right", [str(analysis.regions[key]) for key in keys]),
        (0.47, "left", [_REGION_MEANINGS[key] for key in keys]),
    )
    for x, align, lines in columns:
        fig.text(
            x,
            0.25,
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
