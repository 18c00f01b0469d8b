"""The text table and the JSON of the analysis."""
import json
import re

from hsl_bioner.analysis.report import format_table, results_json, write_json
from hsl_bioner.analysis.sets import RATIOS, REGIONS, analyse_sets
from hsl_bioner.analysis.spec import DatasetSpec


def analyses():
    return {
        "first": analyse_sets({"a", "b", "c"}, {"b", "c", "d"}, {"c", "d", "e", "f"}),
        "second data set": analyse_sets({"a"}, {"a", "b"}, {"a", "b"}),
    }


def test_the_table_has_ratios_sizes_and_regions_in_order_with_aligned_columns():
    lines = format_table(analyses()).split("\n")
    header, body = lines[0], lines[1:]
    assert header.split() == ["first", "second", "data", "set"]
    labels = [line.split()[0] for line in body if line.strip()]
    assert labels[:5] == [ratio.name for ratio in RATIOS]
    assert labels[5:8] == ["|T|", "|L|", "|P|"]
    region_lines = [line for line in body if line.startswith("region")]
    formulas = [re.match(r"region\s+(.+?)\s{2,}\d+\s+\d+$", line)[1] for line in region_lines]
    assert formulas == [region.formula for region in REGIONS]
    # T ∩ L ∩ P is {c} in the first, {a} in the second; C_T ∩ C_L ∩ P = {e, f} in the first.
    assert region_lines[0].split()[-2:] == ["1", "1"]
    assert region_lines[5].split()[-2:] == ["2", "0"]
    # over-prediction of "first": (4 - 3) / 3.
    ratio_lines = body[:5]
    assert "0.333 (1/3)" in ratio_lines[4]
    # In each data set's column the decimal points line up ("n/a" ends where the values end)...
    first_end = header.index("first") + len("first")
    cells = [line[first_end - 14 :] for line in ratio_lines]
    assert len({cell.index(".") for cell in cells}) == 1
    second = [line.rindex("(") for line in ratio_lines]
    assert len(set(second)) == 1
    assert ratio_lines[3].index("n/a") + 3 == ratio_lines[0].rindex(".") + 4
    # ... and counts are right-aligned under the data-set names.
    for line in body[6:16]:
        if line:
            assert len(line) == len(header)
            assert line[first_end - 1] != " "
    # The undefined ratio of the second data set is explained under the table.
    assert "second data set, conflict: n/a because no predicted string is a false positive" in (
        lines[-1]
    )


def test_results_json_holds_definitions_inputs_and_each_analysis(tmp_path):
    datasets = [
        DatasetSpec(name="first", train=["t.tsv"], test="x.tsv", predictions="p.jsonl"),
        DatasetSpec(
            name="second data set", train=["t.tsv"], test="y.tsv", archive="m.tar.gz", task="b"
        ),
    ]
    results = results_json(analyses(), datasets, ["hyphen", "case"])
    assert results["normalisation"] == ["case", "hyphen"]
    assert list(results["ratios"]) == [ratio.key for ratio in RATIOS]
    assert results["ratios"]["coverage"]["formula"] == "|T ∩ L| / |L|"
    assert list(results["regions"].items()) == [(r.key, r.formula) for r in REGIONS]
    first = results["datasets"]["first"]
    assert first["inputs"] == {
        "train": ["t.tsv"], "test": "x.tsv", "predictions": "p.jsonl", "scheme": "BIO"
    }  # fmt: skip
    assert results["datasets"]["second data set"]["inputs"]["archive"] == "m.tar.gz"
    assert first["sizes"] == {"T": 3, "L": 3, "P": 4}
    assert first["fractions"]["over_prediction"] == [1, 3]
    assert results["datasets"]["second data set"]["ratios"]["conflict"] is None
    path = tmp_path / "out" / "analysis.json"
    write_json(analyses(), datasets, ["case"], str(path))
    text = path.read_text(encoding="utf-8")
    assert "T ∩ L ∩ P" in text  # UTF-8, not \u escapes
    assert json.loads(text)["datasets"]["first"]["regions"] == first["regions"]
