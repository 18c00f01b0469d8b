"""Tests of hsl_bioner_runtime.scoring and the `bioner-score` command (run as
``python -m hsl_bioner_runtime.bioner_score``)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hsl_bioner_runtime.bioner_score import main
from hsl_bioner_runtime.formats.documents import Annotation, Document, Passage
from hsl_bioner_runtime.formats.writers import document_writer
from hsl_bioner_runtime.scoring import read_scored, score_documents

RUNTIME = Path(__file__).resolve().parent.parent

TITLE = "BRCA1 mutations in breast cancer"  # 0-32
ABSTRACT = "Carriers of BRCA1 or BRCA2 had ovarian cancer and breast cancer."  # at 33
GOLD = f"""1|t|{TITLE}
1|a|{ABSTRACT}
1\t0\t5\tBRCA1\tGene\t672
1\t19\t32\tbreast cancer\tDisease\tD001943
1\t45\t50\tBRCA1\tGene\t672
1\t54\t59\tBRCA2\tGene\t675
1\t64\t78\tovarian cancer\tDisease\tD010051
1\t83\t96\tbreast cancer\tDisease\tD001943
1\tCID\tD1\tD2

2|t|Second document
2|a|With Alzheimer disease.
2\t21\t38\tAlzheimer disease\tDisease\tD000544

3|t|Nothing here
3|a|

"""

# Hand-counted against GOLD: document 1 has 4 correct (BRCA1 at 0, breast cancer at 19, BRCA2,
# ovarian cancer), BRCA1 at 45 predicted as Disease (wrong type: a false positive of Disease and a
# miss of Gene), "breast" at 83-89 (wrong boundary), a spurious "Carriers" Gene, and the last
# document 2: missed; document 3: nothing.
PRED = f"""1|t|{TITLE}
1|a|{ABSTRACT}
1\t0\t5\tBRCA1\tGene\ttask_a
1\t19\t32\tbreast cancer\tDisease\ttask_a
1\t45\t50\tBRCA1\tDisease\ttask_a
1\t54\t59\tBRCA2\tGene\ttask_a
1\t64\t78\tovarian cancer\tDisease\ttask_a
1\t83\t89\tbreast\tDisease\ttask_a
1\t33\t41\tCarriers\tGene\ttask_b

2|t|Second document
2|a|With Alzheimer disease.

3|t|Nothing here
3|a|

"""
# Gene: gold 3 (BRCA1 0-5, BRCA1 45-50, BRCA2), predicted 3 (BRCA1 0-5, BRCA2, Carriers),
# correct 2. Disease: gold 4 (19-32, 64-78, 83-96; 21-38 in document 2), predicted 4 (19-32,
# 45-50, 64-78, 83-89), correct 2. Overall: gold 7, predicted 7, correct 4.


def _write(tmp_path, name, text) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_hand_counted_precision_recall_and_f1(tmp_path):
    score = score_documents(
        read_scored(_write(tmp_path, "gold.txt", GOLD)),
        read_scored(_write(tmp_path, "pred.txt", PRED)),
    )
    gene, disease = score.by_type["Gene"], score.by_type["Disease"]
    assert (gene.gold, gene.predicted, gene.correct) == (3, 3, 2)
    assert (disease.gold, disease.predicted, disease.correct) == (4, 4, 2)
    assert (score.overall.gold, score.overall.predicted, score.overall.correct) == (7, 7, 4)
    assert gene.precision == pytest.approx(2 / 3) and gene.recall == pytest.approx(2 / 3)
    assert disease.f1 == pytest.approx(0.5)
    assert score.overall.f1 == pytest.approx(4 / 7)
    assert score.missing_from_prediction == []  # document 2 is there, without entities
    assert score.gold_documents == score.predicted_documents == 3


def test_duplicates_count_once_and_missing_documents_count_as_misses(tmp_path):
    gold = _write(tmp_path, "gold.txt", GOLD)
    duplicated = PRED.replace(
        "1\t83\t89\tbreast\tDisease\ttask_a\n",
        "1\t83\t96\tbreast cancer\tDisease\ttask_a\n1\t83\t96\tbreast cancer\tDisease\ttask_b\n",
    )
    document_2 = "2|t|Second document\n2|a|With Alzheimer disease.\n\n"
    pred = _write(tmp_path, "p.txt", duplicated.replace(document_2, ""))
    score = score_documents(read_scored(gold), read_scored(pred))
    assert score.duplicates == {"gold": 0, "predicted": 1}
    disease = score.by_type["Disease"]
    assert (disease.gold, disease.predicted, disease.correct) == (4, 4, 3)
    assert score.missing_from_prediction == ["2"]
    text = score.to_text()
    assert "1 gold documents are not in the prediction (their entities count as misses): 2" in text
    assert "duplicates dropped: 0 gold, 1 predicted" in text


def test_a_gold_file_against_itself_and_against_its_bioc_form_scores_100(tmp_path):
    gold = read_scored(_write(tmp_path, "gold.txt", GOLD))
    score = score_documents(gold, gold)
    assert score.overall.f1 == score.overall.precision == score.overall.recall == 1.0
    assert "overall         7         7         7    100.00    100.00    100.00" in score.to_text()
    # The same annotations written as BioC by our writers (kept annotations), read back.
    for output_format in ("bioc-xml", "bioc-json"):
        writer = document_writer(output_format)
        records = [{**d.to_json(), "entities": []} for d in gold]
        written = writer.header() + "".join(
            writer.document(r, n) for n, r in enumerate(records, 1)
        ) + writer.footer()
        bioc_file = _write(tmp_path, f"gold.{output_format}", written)
        assert score_documents(gold, read_scored(bioc_file)).overall.f1 == 1.0


def test_type_renaming_and_leaving_types_out(tmp_path):
    gold = read_scored(_write(tmp_path, "gold.txt", GOLD))
    pred = read_scored(_write(tmp_path, "pred.txt", PRED))
    merged = score_documents(gold, pred, {"Gene": "Entity", "Disease": "Entity"})
    assert set(merged.by_type) == {"Entity"}
    # BRCA1 at 45 now has the right type: 5 correct of 7.
    assert (merged.overall.gold, merged.overall.predicted, merged.overall.correct) == (7, 7, 5)
    genes_only = score_documents(gold, pred, {"Disease": ""})
    assert set(genes_only.by_type) == {"Gene"} and genes_only.overall.gold == 3


def test_files_that_do_not_belong_together_are_errors(tmp_path):
    gold = read_scored(_write(tmp_path, "gold.txt", GOLD))
    extra = read_scored(_write(tmp_path, "extra.txt", PRED + "9|t|Another\n9|a|\n"))
    with pytest.raises(ValueError, match=r"PRED has 1 document\(s\) that GOLD has not: '9'"):
        score_documents(gold, extra)
    twice = read_scored(_write(tmp_path, "twice.txt", GOLD + "3|t|Nothing here\n3|a|\n"))
    with pytest.raises(ValueError, match=r"GOLD: the document id '3' occurs twice"):
        score_documents(twice, gold)
    changed_text = GOLD.replace("Second document", "Second documenT")
    changed = read_scored(_write(tmp_path, "c.txt", changed_text))
    with pytest.raises(ValueError, match=r"document '2': the texts of GOLD and PRED differ at "
                                         r"character 14"):
        score_documents(gold, changed)
    no_id = [Document.from_passages(None, [Passage(0, "x")], [])]
    with pytest.raises(ValueError, match="PRED: document 1 has no id"):
        score_documents(gold, no_id)
    with pytest.raises(ValueError, match="neither PubTator nor BioC"):
        read_scored(_write(tmp_path, "lines.txt", "Just a line of text.\n"))


def test_texts_compare_equal_up_to_the_characters_formats_replace():
    def document(text):
        annotation = Annotation(((0, 1),), text[0], "T")
        return [Document.from_passages("d", [Passage(0, text)], [annotation])]

    # PubTator writes a tab or line break as a space and "|" as "¦"; XML control characters as
    # U+FFFD.
    original = document("a\tb|c\x0bd\ud800e")
    for written in ("a b¦c d\ufffde", "a\tb|c\ufffdd\ufffde"):
        assert score_documents(original, document(written)).overall.f1 == 1.0


def test_the_command_prints_a_table_or_json_and_fails_with_a_message(tmp_path, capsys):
    gold = _write(tmp_path, "gold.txt", GOLD)
    pred = _write(tmp_path, "pred.txt", PRED)
    assert main([gold, pred]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == [
        "type", "gold", "pred", "correct", "precision", "recall", "f1"
    ]
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[1:4]}
    assert rows["Gene"] == ["3", "3", "2", "66.67", "66.67", "66.67"]
    assert rows["overall"] == ["7", "7", "4", "57.14", "57.14", "57.14"]
    assert main([gold, pred, "--json", "--types", "Gene=Entity", "Disease=Entity"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["overall"]["correct"] == 5 and report["types"]["Entity"]["gold"] == 7
    assert report["documents"] == {"gold": 3, "predicted": 3, "missing_from_prediction": []}
    bad_text = GOLD.replace("1\t19\t32\tbreast cancer", "1\t19\t32\tbreast cancel")
    bad = _write(tmp_path, "bad.txt", bad_text)
    assert main([bad, pred]) == 1
    error = capsys.readouterr().err
    assert f"bioner-score: {bad}:4: document '1', annotation 1 ('breast cancel')" in error
    with pytest.raises(SystemExit) as exited:
        main([gold, pred, "--types", "Gene"])
    assert exited.value.code == 2


def test_the_module_runs_as_a_program(tmp_path):
    gold = _write(tmp_path, "gold.txt", GOLD)
    result = subprocess.run(
        [sys.executable, "-m", "hsl_bioner_runtime.bioner_score", gold, gold, "--json"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    assert json.loads(result.stdout)["overall"]["f1"] == 1.0
    missing = subprocess.run(
        [sys.executable, "-m", "hsl_bioner_runtime.bioner_score", gold, str(tmp_path / "nope")],
        capture_output=True, text=True, timeout=120,
    )
    assert missing.returncode == 1 and "No such file or directory" in missing.stderr
    assert "Traceback" not in missing.stderr
