"""`make_submission` and `validate_submission`: the rules of the leaderboard CSV."""

from __future__ import annotations

import numpy as np
import pytest

from utilities import SubmissionError, make_submission, validate_submission

N = 6


def _write(tmp_path, text: str | bytes):
    path = tmp_path / "submission.csv"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def _csv(rows) -> str:
    return "ID,Prediction\n" + "".join(f"{i},{p}\n" for i, p in rows)


GOOD_ROWS = [(i, (3 * i) % 10) for i in range(N)]


def test_make_submission_writes_the_header_and_one_row_per_image(tmp_path):
    path = make_submission(np.array([3, 1, 4, 1, 5, 9]), tmp_path / "submission.csv")
    assert path.read_text() == "ID,Prediction\n0,3\n1,1\n2,4\n3,1\n4,5\n5,9\n"


def test_make_submission_accepts_probability_rows(tmp_path):
    probabilities = np.full((4, 10), 0.05)
    probabilities[np.arange(4), [7, 0, 9, 2]] = 0.55
    path = make_submission(probabilities, tmp_path / "s.csv")
    assert validate_submission(path, 4).tolist() == [7, 0, 9, 2]


def test_make_submission_replaces_an_old_file_only_when_the_new_one_is_valid(tmp_path):
    path = make_submission([1, 2, 3], tmp_path / "submission.csv")
    with pytest.raises(SubmissionError, match=r"predictions\[1\] = 12 is not a class"):
        make_submission([1, 12, 3], path)
    assert validate_submission(path, 3).tolist() == [1, 2, 3]
    assert [p.name for p in tmp_path.iterdir()] == ["submission.csv"]


@pytest.mark.parametrize(
    ("predictions", "message"),
    [
        ([], "empty"),
        ([[0.1, np.nan], [0.5, 0.5]], "NaN"),
        ([1.5, 2.0], "whole numbers"),
        ([-1, 2], "class indices must be 0 or more, found -1"),
        (np.zeros((2, 3, 4)), "expected class indices"),
    ],
)
def test_make_submission_rejects_predictions_that_are_not_classes(tmp_path, predictions, message):
    with pytest.raises(SubmissionError, match=message):
        make_submission(predictions, tmp_path / "s.csv")
    assert not (tmp_path / "s.csv").exists()


def test_validate_returns_predictions_ordered_by_id(tmp_path):
    path = _write(tmp_path, _csv(GOOD_ROWS))
    assert validate_submission(path, N).tolist() == [p for _, p in GOOD_ROWS]


def test_validate_accepts_crlf_a_bom_blank_lines_spaces_and_any_row_order(tmp_path):
    rows = list(reversed(GOOD_ROWS))
    text = "ID,Prediction\r\n" + "".join(f" {i} , {p}\r\n" for i, p in rows) + "\r\n"
    path = _write(tmp_path, b"\xef\xbb\xbf" + text.encode())
    assert validate_submission(path, N).tolist() == [p for _, p in GOOD_ROWS]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "file is empty"),
        ("\n\n  \n", "file is empty"),
        ("id,prediction\n0,1\n", "line 1: header is 'id,prediction', expected 'ID,Prediction'"),
        ("ID,Label\n0,1\n", "line 1: header is 'ID,Label'"),
        ("ID,Prediction,Extra\n0,1,2\n", "line 1: header is 'ID,Prediction,Extra'"),
        (_csv(GOOD_ROWS[:-1]), "has 5 rows, expected 6 .*missing ID\\(s\\) 5$"),
        (_csv(GOOD_ROWS[2:]), "has 4 rows, expected 6 .*missing ID\\(s\\) 0, 1$"),
        (_csv([*GOOD_ROWS, (2, 1)]), "line 8, column ID: duplicate ID 2 \\(first on line 4\\)"),
        (_csv([*GOOD_ROWS[:-1], (6, 1)]), "line 7, column ID: ID 6 is out of range; expected 0..5"),
        (_csv([(-1, 1), *GOOD_ROWS[1:]]), "line 2, column ID: '-1' is not an ID"),
        (_csv([("1.0", 1)]), "line 2, column ID: '1.0' is not an ID"),
        (_csv([("", 1)]), "line 2, column ID: '' is not an ID"),
        (_csv([(0, "")]), "line 2, column Prediction: missing prediction for ID 0"),
        (_csv([(0, "3.0")]), "line 2, column Prediction: '3.0' for ID 0 is not a class"),
        (_csv([(0, "Coat")]), "line 2, column Prediction: 'Coat' for ID 0 is not a class"),
        (
            _csv([(0, 10)]),
            "line 2, column Prediction: '10' for ID 0 is not a class; expected an integer 0..9",
        ),
        (_csv([(0, -3)]), "line 2, column Prediction: '-3'"),
        ("ID,Prediction\n0,1,7\n", "line 2: expected 2 columns \\(ID,Prediction\\), found 3"),
        ("ID,Prediction\n0\n", "line 2: expected 2 columns \\(ID,Prediction\\), found 1"),
        ("ID,Prediction\n0,1,\n", "line 2: expected 2 columns \\(ID,Prediction\\), found 3"),
        ('ID,Prediction\n"0\n', "line 2: expected 2 columns"),
    ],
)
def test_validate_rejects_with_a_message_naming_the_line_and_column(tmp_path, content, message):
    path = _write(tmp_path, content)
    with pytest.raises(SubmissionError, match=message) as caught:
        validate_submission(path, N)
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)


def test_validate_lists_only_the_first_missing_ids(tmp_path):
    path = _write(tmp_path, _csv([(0, 1)]))
    with pytest.raises(SubmissionError, match=r"missing ID\(s\) 1, 2, 3, 4, 5 and 94 more"):
        validate_submission(path, 100)


def test_validate_rejects_a_file_that_is_not_utf8(tmp_path):
    path = _write(tmp_path, "ID,Prediction\n0,1\n".encode("utf-16"))
    with pytest.raises(SubmissionError, match="not UTF-8 text"):
        validate_submission(path, 1)


def test_validate_reports_a_missing_file(tmp_path):
    with pytest.raises(SubmissionError, match=r"submission\.csv: file not found"):
        validate_submission(tmp_path / "submission.csv", 1)


def test_validate_checks_against_the_number_of_classes(tmp_path):
    path = _write(tmp_path, _csv([(0, 2)]))
    with pytest.raises(SubmissionError, match=r"expected an integer 0\.\.1"):
        validate_submission(path, 1, num_classes=2)


def test_validate_accepts_quoted_fields(tmp_path):
    path = _write(tmp_path, '"ID","Prediction"\n"0","7"\n')
    assert validate_submission(path, 1).tolist() == [7]


def test_validate_needs_at_least_one_row():
    with pytest.raises(ValueError, match="n_rows must be at least 1"):
        validate_submission("submission.csv", 0)


def test_make_submission_into_a_folder_says_to_give_a_file_name(tmp_path):
    with pytest.raises(SubmissionError, match="is a folder; give a file name"):
        make_submission([1, 2], tmp_path)


def test_a_pandas_index_column_is_named_as_the_likely_cause(tmp_path):
    pandas = pytest.importorskip("pandas")
    path = tmp_path / "submission.csv"
    pandas.DataFrame({"ID": range(N), "Prediction": [p for _, p in GOOD_ROWS]}).to_csv(path)
    with pytest.raises(SubmissionError) as caught:
        validate_submission(path, N)
    message = str(caught.value)
    assert message.startswith(f"{path}: line 1: the first column has no name")
    assert "to_csv without index=False" in message
    assert "make_submission(predictions, path) or df.to_csv(path, index=False)" in message
    assert "found ',ID,Prediction'" in message


def test_an_index_column_that_pandas_read_back_gets_the_same_hint(tmp_path):
    path = _write(tmp_path, "Unnamed: 0,ID,Prediction\n0,0,3\n")
    with pytest.raises(SubmissionError, match=r"first column has no name.*index=False"):
        validate_submission(path, 1)
