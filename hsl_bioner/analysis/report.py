"""The results of the analysis as a text table (`format_table`) and as JSON (`results_json`,
`write_json`)."""
import json
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

from hsl_bioner.analysis.sets import RATIOS, REGIONS, SETS, SetAnalysis, check_normalisation
from hsl_bioner.analysis.spec import DatasetSpec


def format_table(analyses: Dict[str, SetAnalysis]) -> str:
    """The analyses as a text table: one column per data set; the five ratios (with their
    fractions), the set sizes and the region sizes as rows; undefined ratios are ``n/a``, with
    the reason under the table."""
    names = list(analyses)
    notes: List[str] = []
    values: Dict[str, List[str]] = {}  # ratio key -> formatted value per data set
    fractions: Dict[str, List[str]] = {}
    for ratio in RATIOS:
        values[ratio.key], fractions[ratio.key] = [], []
        for name in names:
            value = analyses[name].ratios[ratio.key]
            numerator, denominator = analyses[name].fractions[ratio.key]
            if value is None:
                notes.append(f"{name}, {ratio.name}: n/a because {ratio.undefined_when}")
            values[ratio.key].append("n/a" if value is None else f"{value:.3f}")
            fractions[ratio.key].append(f"({numerator}/{denominator})")
    # Within a data set's column, values are right-aligned and fractions left-aligned, so the
    # decimal points line up.
    value_widths = [max(len(values[r.key][i]) for r in RATIOS) for i in range(len(names))]
    fraction_widths = [max(len(fractions[r.key][i]) for r in RATIOS) for i in range(len(names))]
    rows: List[Tuple[str, str, List[str]]] = [
        (
            ratio.name,
            ratio.formula,
            [
                f"{values[ratio.key][i].rjust(value_widths[i])} "
                f"{fractions[ratio.key][i].ljust(fraction_widths[i])}"
                for i in range(len(names))
            ],
        )
        for ratio in RATIOS
    ]
    rows.append(("", "", ["" for _ in names]))
    for key, meaning in SETS:
        rows.append((f"|{key}|", meaning, [str(analyses[n].sizes[key]) for n in names]))
    for region in REGIONS:
        cells = [str(analyses[n].regions[region.key]) for n in names]
        rows.append(("region", region.formula, cells))
    widths = [
        max(len(row[0]) for row in rows),
        max(len(row[1]) for row in rows),
        *(max(len(name), *(len(row[2][i]) for row in rows)) for i, name in enumerate(names)),
    ]
    lines = [
        "  ".join(
            [" " * widths[0], " " * widths[1]]
            + [name.rjust(width) for name, width in zip(names, widths[2:])]
        ).rstrip()
    ]
    for label, formula, cells in rows:
        lines.append(
            "  ".join(
                [label.ljust(widths[0]), formula.ljust(widths[1])]
                + [cell.rjust(width) for cell, width in zip(cells, widths[2:])]
            ).rstrip()
        )
    if notes:
        lines.append("")
        lines.extend(notes)
    return "\n".join(lines)


def results_json(
    analyses: Dict[str, SetAnalysis],
    datasets: Sequence[DatasetSpec],
    normalisation: Iterable[str],
) -> Dict[str, object]:
    """The JSON written by ``--output-json``: the definitions, the normalisation used and, per
    data set, its inputs and `SetAnalysis.to_json` (ratios ``null`` when undefined, with the
    reason under "undefined")."""
    inputs = {dataset.name: dataset for dataset in datasets}
    return {
        "normalisation": list(check_normalisation(normalisation)),
        "ratios": {
            ratio.key: {"name": ratio.name, "formula": ratio.formula, "meaning": ratio.meaning}
            for ratio in RATIOS
        },
        "regions": {region.key: region.formula for region in REGIONS},
        "datasets": {
            name: {
                "inputs": {
                    key: value
                    for key, value in vars(inputs[name]).items()
                    if value is not None and key != "name"
                },
                **analysis.to_json(),
            }
            for name, analysis in analyses.items()
        },
    }


def write_json(
    analyses: Dict[str, SetAnalysis],
    datasets: Sequence[DatasetSpec],
    normalisation: Iterable[str],
    path: str,
) -> None:
    """Writes `results_json` to ``path`` (UTF-8, indented)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        results = results_json(analyses, datasets, normalisation)
        json.dump(results, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
