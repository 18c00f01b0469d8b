"""`allennlp bioner-tag` on document files: PubTator and BioC in and out, format detection, the
round trip PubTator -> tag -> BioC -> PubTator, and bad input. (The line formats are in
test_tag.py.)"""
import io
import json
import subprocess
import sys

import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.predictors import Predictor

from hsl_bioner_runtime.formats.readers import read_documents
from hsl_bioner_runtime.scoring import read_scored, score_documents
from tests.conftest import ROOT, run_allennlp

TITLE_1 = "Familial adenomatous polyposis and colorectal cancer"
ABSTRACT_1 = (
    "Mutations in APC cause familial adenomatous polyposis (FAP). Patients with Alzheimer's "
    "disease and breast cancer were excluded; α-synuclein levels were normal \U0001f600."
)
PUBTATOR = (
    f"PMID1|t|{TITLE_1}\n"
    f"PMID1|a|{ABSTRACT_1}\n"
    f"PMID1\t0\t30\tFamilial adenomatous polyposis\tDisease\tD011125\n"
    "PMID1\tCID\tD1\tD011125\n"
    "\n"
    "PMID2|t|Breast cancer in carriers\n"  # empty abstract
    "PMID2|a|\n"
    "\n"
    "PMID3|t|\n"  # no title
    "PMID3|a|Colorectal cancer is common. Tumours were resected.\n"
    "\n"
    "PMID4|t|\n"  # empty
    "PMID4|a|\n"
    "\n"
)


def _archive(fixture_runs) -> str:
    return str(fixture_runs["mtl_ls"] / "model.tar.gz")


def _tag(archive, source, output, *options):
    run_allennlp(["bioner-tag", archive, str(source), "--output-file", str(output),
                  "--no-progress", *options])
    return output.read_text(encoding="utf-8")


def _pubtator_entities(text):
    """(id, start, end, mention, type) of every entity line of a PubTator text."""
    lines = [line.split("\t") for line in text.splitlines() if line.count("\t") >= 4]
    return [(f[0], int(f[1]), int(f[2]), f[3], f[4]) for f in lines]


def test_pubtator_to_bioc_to_pubtator_keeps_ids_texts_and_offsets(fixture_runs, tmp_path):
    archive = _archive(fixture_runs)
    source = tmp_path / "in.pubtator"
    source.write_text(PUBTATOR, encoding="utf-8")
    records = [json.loads(line) for line in _tag(archive, source, tmp_path / "out.jsonl")
               .splitlines()]
    bioc_xml = _tag(archive, source, tmp_path / "out.xml", "--format", "bioc-xml")
    back = _tag(archive, tmp_path / "out.xml", tmp_path / "back.pubtator", "--format", "pubtator")

    # Counts in equal counts out, ids and texts as they were, passages at PubTator's offsets.
    assert [r["id"] for r in records] == ["PMID1", "PMID2", "PMID3", "PMID4"]
    assert records[0]["text"] == f"{TITLE_1} {ABSTRACT_1}"
    assert records[0]["passages"][1]["offset"] == len(TITLE_1) + 1
    assert "annotations" not in records[0]  # not kept unless asked
    text_lines = [line for line in back.splitlines() if "|t|" in line or "|a|" in line]
    assert text_lines == [line for line in PUBTATOR.splitlines() if "|t|" in line or "|a|" in line]
    # No sentence crosses the title/abstract boundary.
    for record in records:
        ends = [p["offset"] + len(p["text"]) for p in record["passages"]]
        for sentence in record["sentences"]:
            assert not any(sentence["start"] < end < sentence["end"] for end in ends)
    # The same entities at the same offsets in JSON, BioC and the PubTator written from BioC.
    from_json = [(r["id"], e["start"], e["end"], e["text"], e["type"])
                 for r in records for e in r["entities"]]
    assert from_json, "the fixture model found no entity: the round trip would prove nothing"
    documents = list(read_documents(io.BytesIO(bioc_xml.encode()), "bioc-xml", "out", True))
    from_bioc = [(d.id, a.start, a.end, a.text, a.type) for d in documents for a in d.annotations]
    assert from_bioc == from_json == _pubtator_entities(back)
    for document in documents:
        for annotation in document.annotations:
            assert document.text[annotation.start : annotation.end] == annotation.text
    # And scored against each other: 100.
    score = score_documents(read_scored(str(tmp_path / "back.pubtator")),
                            read_scored(str(tmp_path / "out.xml")))
    assert score.overall.f1 == 1.0 and score.overall.gold == len(from_json)


def test_every_input_format_gives_one_output_document_per_input_document(fixture_runs, tmp_path):
    archive = _archive(fixture_runs)
    # Explicit text: a line that starts with "{" is text too.
    lines = tmp_path / "in.txt"
    lines.write_text('Colorectal cancer.\n\n{"text": "not JSON here"}\n', encoding="utf-8")
    records = [json.loads(x) for x in _tag(archive, lines, tmp_path / "a.jsonl",
                                           "--input-format", "text").splitlines()]
    assert [r["text"] for r in records] == ["Colorectal cancer.", "", '{"text": "not JSON here"}']
    # BioC JSON, detected, with passages that leave gaps and annotations kept.
    collection = {
        "source": "", "date": "", "key": "", "infons": {},
        "documents": [
            {"id": "B1", "passages": [
                {"offset": 0, "text": "Breast cancer", "infons": {"type": "title"}},
                {"offset": 20, "text": "Mutations in APC cause colorectal cancer.",
                 "annotations": [{"id": "g1", "infons": {"type": "Disease"},
                                  "text": "colorectal cancer",
                                  "locations": [{"offset": 43, "length": 17}]}]}]},
            {"id": "B2", "passages": []},
        ],
    }
    bioc_json = tmp_path / "in.json"
    bioc_json.write_text(json.dumps(collection, indent=2), encoding="utf-8")
    records = [json.loads(x) for x in _tag(archive, bioc_json, tmp_path / "b.jsonl",
                                           "--keep-annotations").splitlines()]
    assert [r["id"] for r in records] == ["B1", "B2"]
    assert records[0]["text"][43:60] == "colorectal cancer"
    assert records[0]["annotations"][0]["id"] == "g1"
    for entity in records[0]["entities"]:
        assert entity["start"] >= 20 or entity["end"] <= 13  # nothing in the gap
    # BioC XML written from it, read back from stdin (detected there too) into BioC JSON.
    xml = _tag(archive, bioc_json, tmp_path / "c.xml", "--format", "bioc-xml", "--keep-annotations")
    assert xml.startswith("<?xml") and xml.rstrip().endswith("</collection>")
    result = subprocess.run(
        [sys.executable, "-m", "allennlp", "bioner-tag", archive, "-", "--format", "bioc-json",
         "--no-progress"],
        input=xml.encode("utf-8"), cwd=ROOT, capture_output=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    out = json.loads(result.stdout)
    assert [d["id"] for d in out["documents"]] == ["B1", "B2"]
    assert [p["offset"] for p in out["documents"][0]["passages"]] == [0, 20]


def test_bad_document_input_names_the_file_and_line(fixture_runs, tmp_path):
    source = tmp_path / "bad.pubtator"
    source.write_text("1|t|Title\n1|a|Abstract\n2\t0\t5\tTitle\tDisease\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "allennlp", "bioner-tag", _archive(fixture_runs), str(source),
         "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0
    assert f"{source}:3: a line of document '2' inside document '1'" in result.stderr


def test_the_predictor_tags_passages_and_leaves_bioc_to_bioner_tag(fixture_runs):
    archive = _archive(fixture_runs)
    with pytest.raises(ConfigurationError, match="BioC output is one collection per file"):
        Predictor.from_path(archive, "bioner", output_format="bioc-xml")
    predictor = Predictor.from_path(archive, "bioner")
    text = "Colorectal cancer in APC carriers" + " " * 3 + "Breast cancer was rare"
    passages = [{"offset": 0, "text": "Colorectal cancer in APC carriers"},
                {"offset": 36, "text": "Breast cancer was rare"}]
    result = predictor.predict_json({"id": "P", "text": text, "passages": passages})
    assert [(s["start"], s["end"]) for s in result["sentences"]] == [(0, 33), (36, 58)]
    assert result["passages"] == passages
    with pytest.raises(ValueError, match=r"document 'P', passage 1 is not the document's text"):
        predictor.predict_json({"id": "P", "text": text[:40], "passages": passages})
