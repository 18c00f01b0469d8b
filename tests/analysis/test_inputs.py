"""Reading gold and predictions files, their tag scheme, and the alignment check."""
import json

import pytest
from allennlp.common.checks import ConfigurationError

from hsl_bioner.analysis.inputs import check_alignment, detect_scheme, read_predictions, read_tagged
from hsl_bioner.data.iob_reader import IobFormatError


def test_detect_scheme():
    assert detect_scheme([(["a", "b"], ["B-X", "I-X"])]) == "BIO"
    assert detect_scheme([(["a"], ["O"]), (["b"], ["U-X"])]) == "BIOUL"
    assert detect_scheme([(["a"], ["S-X"])]) == "BIOUL"
    assert detect_scheme([(["a"], ["U-X"])], "BIO") == "BIO"  # given, not detected
    assert detect_scheme([], "iob2") == "BIO"


def test_iob_predictions_are_read_in_the_scheme_they_are_written_in(tmp_path):
    bioul = tmp_path / "bioul.tsv"
    bioul.write_text("breast\tB-D\ncancer\tL-D\nflu\tU-D\n", encoding="utf-8")
    assert read_predictions(str(bioul), None, "x") == [
        (["breast", "cancer", "flu"], ["B-D", "L-D", "U-D"])
    ]
    bio = tmp_path / "bio.tsv"
    bio.write_text("breast\tB-D\ncancer\tI-D\n", encoding="utf-8")
    assert read_predictions(str(bio), None, "x") == [(["breast", "cancer"], ["B-D", "I-D"])]
    with pytest.raises(IobFormatError, match=r"bio\.tsv:2"):
        read_predictions(str(bio), None, "x", scheme="BIOUL")
    assert read_tagged(str(bio), "BIO") == read_predictions(str(bio), None, "x", scheme="BIO")


def test_json_lines_of_several_tasks_are_filtered_and_errors_name_the_line(tmp_path):
    path = tmp_path / "predictions.jsonl"
    batch = {"task": ["a", "b"], "words": [["x"], ["y"]], "tags": [["O"], ["B-D"]]}
    path.write_text(json.dumps(batch) + "\n\n" + json.dumps({"words": ["z"], "tags": ["O"]}) + "\n")
    # A record without a task belongs to every task.
    assert read_predictions(str(path), "b", "anything") == [(["y"], ["B-D"]), (["z"], ["O"])]
    assert read_predictions(str(path), None, "a") == [(["x"], ["O"]), (["z"], ["O"])]
    with pytest.raises(ConfigurationError, match="tasks a, b: say which one is data set 'c'"):
        read_predictions(str(path), None, "c")
    with pytest.raises(ConfigurationError, match="no predictions of task 'q'; its tasks: a, b"):
        read_predictions(str(path), "q", "c")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"words": ["x"], "tags": ["O"]}\n{"words": ["y"]}\n')
    with pytest.raises(ConfigurationError, match=r"broken\.jsonl:2: expected a JSON object"):
        read_predictions(str(broken), None, "x")


def test_predictions_must_be_the_test_sentences_in_any_order():
    test = [(["a", "b"], ["O", "O"]), (["c"], ["O"]), (["c"], ["O"])]
    check_alignment(list(reversed(test)), test, "p", "t")
    with pytest.raises(ConfigurationError, match="1 test sentence.*no prediction .*'c'"):
        check_alignment(test[:2], test, "p", "t")
    with pytest.raises(ConfigurationError, match="1 predicted sentence.*not in the test file"):
        check_alignment(test + [(["d"], ["O"])], test, "p", "t")
    with pytest.raises(ConfigurationError, match="p: 1 tags for 2 words"):
        check_alignment([(["a", "b"], ["O"])], test, "p", "t")
