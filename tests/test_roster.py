"""Reading an LMS's roster export, and matching graded students to its rows.

Canvas's gradebook export and Moodle's grading worksheet carry the ids the
submissions carry, so they decide; Moodle's grades export has names, emails
and ID numbers only. A student is never matched by a guess: homonyms with
no id to tell them apart are reported, as are graded students on no row and
rows with no graded student. A file that is not a roster is refused with the
file, the row and what was expected.
"""

from __future__ import annotations

import csv

import pytest

from autograder.grading.lms.identity import StudentIdentity, name_student_id
from autograder.grading.lms.roster import RosterError, RosterFormat, match_roster, read_roster

CANVAS_HEADER = [
    "Student",
    "ID",
    "SIS User ID",
    "SIS Login ID",
    "Section",
    "cnn (123)",
    "Quiz 1 (124)",
    "Current Points",
    "Final Points",
]
CANVAS_ROWS = [
    ["    Points Possible", "", "", "", "", "45.00", "10.00", "(read only)", "(read only)"],
    ["Doe, Jane", "30001", "S001", "jdoe", "CNN 2025", "", "8.00", "8.00", "8.00"],
    ["Lee, Ann", "30002", "S002", "alee1", "CNN 2025", "", "", "", ""],
    ["Lee, Ann", "30003", "S003", "alee2", "CNN 2025", "", "", "", ""],
    ["Li, Zoë", "30004", "S004", "zli1", "CNN 2025", "", "", "", ""],
    ["Li, Zoé", "30005", "S005", "zli2", "CNN 2025", "", "", "", ""],
    ["Student, Test", "39999", "", "", "CNN 2025", "", "", "", ""],
]
WORKSHEET_HEADER = [
    "Identifier",
    "Full name",
    "Email address",
    "Status",
    "Grade",
    "Maximum Grade",
    "Grade can be changed",
    "Last modified (submission)",
    "Last modified (grade)",
    "Feedback comments",
]


def worksheet_row(participant, name, email):
    when = "Monday, 3 March 2025, 10:00 AM"
    return [
        f"Participant {participant}",
        name,
        email,
        "Submitted",
        "",
        "45.00",
        "Yes",
        when,
        "-",
        "",
    ]


WORKSHEET_ROWS = [
    worksheet_row(1001, "Ann Lee", "ann.lee@uni.example"),
    worksheet_row(1002, "Ann Lee", "ann.lee2@uni.example"),
    worksheet_row(1003, "张伟", "zhang.wei@uni.example"),
    worksheet_row(1004, "Ольга Петрова", "olga@uni.example"),
]
USERS_HEADER = ["First name", "Last name", "ID number", "Email address", "Assignment: cnn (Real)"]
USERS_ROWS = [
    ["Ann", "Lee", "S1", "ann.lee@uni.example", "-"],
    ["Ann", "Lee", "S2", "ann.lee2@uni.example", "-"],
    ["Zoë", "Li", "S3", "zoe.li@uni.example", "-"],
    ["Zoé", "Li", "S4", "zoe.li@other.example", "-"],
    ["Bo", "Wu", "S5", "bo.wu@uni.example", "-"],
]


def write_csv(path, header, rows, *, delimiter=",", encoding="utf-8"):
    with path.open("w", newline="", encoding=encoding) as stream:
        writer = csv.writer(stream, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def canvas(tmp_path):
    return read_roster(
        write_csv(tmp_path / "canvas.csv", CANVAS_HEADER, CANVAS_ROWS, encoding="utf-8-sig")
    )


@pytest.fixture
def worksheet(tmp_path):
    return read_roster(write_csv(tmp_path / "worksheet.csv", WORKSHEET_HEADER, WORKSHEET_ROWS))


@pytest.fixture
def users(tmp_path):
    return read_roster(write_csv(tmp_path / "grades.csv", USERS_HEADER, USERS_ROWS))


# ---- reading ---------------------------------------------------------------------


def test_a_canvas_gradebook_export_keeps_points_possible_and_skips_the_test_student(canvas):
    assert canvas.format is RosterFormat.CANVAS_GRADEBOOK
    assert canvas.header == tuple(CANVAS_HEADER)
    assert canvas.points_possible[canvas.index("cnn (123)")] == "45.00"
    assert [entry.student_id for entry in canvas.entries] == [
        "canvas-30001",
        "canvas-30002",
        "canvas-30003",
        "canvas-30004",
        "canvas-30005",
    ]
    jane = canvas.entries[0]
    assert (jane.row, jane.display_name, jane.names) == (3, "Doe, Jane", ("Jane Doe", "Doe, Jane"))
    assert jane.logins == ("jdoe", "S001", "30001")


def test_canvas_rows_above_the_students_such_as_manual_posting_are_skipped(tmp_path):
    rows = [CANVAS_ROWS[0], ["", "", "", "", "", "Manual Posting", "", "", ""], *CANVAS_ROWS[1:3]]
    roster = read_roster(write_csv(tmp_path / "canvas.csv", CANVAS_HEADER, rows))
    assert [entry.row for entry in roster.entries] == [4, 5]


def test_a_moodle_grading_worksheet_gives_participant_ids(worksheet):
    assert worksheet.format is RosterFormat.MOODLE_WORKSHEET
    assert [entry.student_id for entry in worksheet.entries] == [
        "moodle-1001",
        "moodle-1002",
        "moodle-1003",
        "moodle-1004",
    ]
    assert worksheet.entries[2].display_name == "张伟"
    assert worksheet.entries[0].logins == ("ann.lee@uni.example", "ann.lee")


def test_a_moodle_grades_export_has_names_and_logins_but_no_lms_ids(users):
    assert users.format is RosterFormat.MOODLE_USERS
    ann = users.entries[0]
    assert (ann.student_id, ann.display_name) == ("", "Ann Lee")
    assert ann.names == ("Ann Lee", "Lee Ann", "Lee, Ann")
    assert ann.logins == ("ann.lee@uni.example", "ann.lee", "S1")


def test_a_roster_saved_again_with_semicolons_or_as_utf16_is_read(tmp_path):
    semicolons = write_csv(tmp_path / "a.csv", WORKSHEET_HEADER, WORKSHEET_ROWS, delimiter=";")
    assert len(read_roster(semicolons).entries) == 4
    utf16 = write_csv(
        tmp_path / "b.csv", WORKSHEET_HEADER, WORKSHEET_ROWS, delimiter="\t", encoding="utf-16"
    )
    assert read_roster(utf16).entries[2].display_name == "张伟"


def test_blank_rows_and_trailing_empty_cells_are_ignored(tmp_path):
    rows = [WORKSHEET_ROWS[0] + ["", ""], [], WORKSHEET_ROWS[1][:5]]
    roster = read_roster(write_csv(tmp_path / "w.csv", WORKSHEET_HEADER, rows))
    assert [entry.row for entry in roster.entries] == [2, 4]
    assert len(roster.entries[1].values) == len(WORKSHEET_HEADER)


# ---- errors name the file, the row and what was expected ---------------------------


def test_a_file_that_is_no_roster_says_what_was_expected(tmp_path):
    path = write_csv(tmp_path / "x.csv", ["name", "points"], [["ada", "1"]])
    with pytest.raises(RosterError) as error:
        read_roster(path)
    message = str(error.value)
    assert message.startswith(f"{path}: row 1: the header (name, points) is not a Canvas")
    assert "Identifier, Full name" in message and "First name, Last name" in message


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([["Doe, Jane", "abc", "", "", "A"]], "row 2: ID is 'abc'; expected Canvas's numeric"),
        ([["Doe, Jane", "", "", "", "A"]], "row 2: ID is ''; expected Canvas's numeric user ID"),
        (
            [["Doe, Jane", "7", "", "", "A"], ["Roe, Jo", "7", "", "", "A"]],
            "row 3: ID 7 is also on row 2; each student must appear once",
        ),
        ([["Doe, Jane", "7", "", "", "A", "surplus"]], "row 2: 6 cells, but the header has 5"),
    ],
)
def test_a_canvas_row_without_a_user_id_is_refused_with_its_row(tmp_path, rows, expected):
    path = write_csv(tmp_path / "c.csv", CANVAS_HEADER[:5], rows)
    with pytest.raises(RosterError, match=f"^{path}: {expected}"):
        read_roster(path)


def test_a_worksheet_row_without_a_participant_is_refused_with_its_row(tmp_path):
    rows = [WORKSHEET_ROWS[0], ["Ann Lee", *WORKSHEET_ROWS[1][1:]]]
    path = write_csv(tmp_path / "w.csv", WORKSHEET_HEADER, rows)
    with pytest.raises(RosterError, match="row 3: Identifier is 'Ann Lee'; expected 'Participant'"):
        read_roster(path)
    twice = write_csv(tmp_path / "t.csv", WORKSHEET_HEADER, [WORKSHEET_ROWS[0]] * 2)
    with pytest.raises(RosterError, match="row 3: Identifier Participant 1001 is also on row 2"):
        read_roster(twice)


def test_a_worksheet_without_a_grade_column_is_refused(tmp_path):
    path = write_csv(tmp_path / "w.csv", ["Identifier", "Full name"], [["Participant 1", "A"]])
    with pytest.raises(RosterError, match="no Grade column; expected Moodle's grading worksheet"):
        read_roster(path)


def test_missing_empty_or_binary_files_are_clear_errors(tmp_path):
    with pytest.raises(RosterError, match="cannot read the roster"):
        read_roster(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("\n\n")
    with pytest.raises(RosterError, match="the file is empty; expected a Canvas"):
        read_roster(tmp_path / "empty.csv")
    (tmp_path / "latin1.csv").write_bytes("Student,ID,Section\nZoë,1,A\n".encode("latin-1"))
    with pytest.raises(RosterError, match=r"not UTF-8 text .*'CSV UTF-8'"):
        read_roster(tmp_path / "latin1.csv")


def test_control_characters_in_a_roster_never_reach_a_message(tmp_path):
    path = write_csv(tmp_path / "c.csv", CANVAS_HEADER[:5], [["x", "\x1b[2J", "", "", "A"]])
    with pytest.raises(RosterError) as error:
        read_roster(path)
    assert "\x1b" not in str(error.value) and "\\x1b[2J" in str(error.value)


# ---- matching --------------------------------------------------------------------


def test_canvas_ids_decide_and_homonyms_stay_apart(canvas):
    graded = ["canvas-30002", "canvas-30003", "canvas-30004", "canvas-99999"]
    match = match_roster(canvas, graded)
    assert {s: e.row for s, e in match.matched.items()} == {
        "canvas-30002": 4,
        "canvas-30003": 5,
        "canvas-30004": 6,
    }
    assert match.unknown == ("canvas-99999",)
    assert [entry.row for entry in match.missing] == [3, 7]
    assert match.ambiguous == {}


def test_an_lms_id_never_falls_back_to_a_name(canvas):
    stranger = StudentIdentity.from_canvas("99999", "doejane")
    imposter = {stranger.id: StudentIdentity(stranger.id, stranger.lms, "99999", "Jane Doe")}
    assert match_roster(canvas, [stranger.id], imposter).unknown == (stranger.id,)


def test_moodle_participant_ids_decide(worksheet):
    match = match_roster(worksheet, ["moodle-1001", "moodle-1002", "moodle-1003"])
    assert {s: e.row for s, e in match.matched.items()} == {
        "moodle-1001": 2,
        "moodle-1002": 3,
        "moodle-1003": 4,
    }
    assert [entry.display_name for entry in match.missing] == ["Ольга Петрова"]


def test_moodle_submissions_match_a_grades_export_by_name_and_homonyms_are_reported(users):
    identities = {
        identity.id: identity
        for identity in [
            StudentIdentity.from_moodle("1001", "Ann Lee"),
            StudentIdentity.from_moodle("1002", "Ann Lee"),
            StudentIdentity.from_moodle("1003", "Zoë Li"),
            StudentIdentity.from_moodle("1004", "Zoé Li"),
            StudentIdentity.from_moodle("1005", "Max Mustermann"),
        ]
    }
    match = match_roster(users, identities, identities)
    assert {s: e.row for s, e in match.matched.items()} == {"moodle-1003": 4, "moodle-1004": 5}
    assert {s: [e.row for e in rows] for s, rows in match.ambiguous.items()} == {
        "moodle-1001": [2, 3],
        "moodle-1002": [2, 3],
    }
    assert match.unknown == ("moodle-1005",)
    assert [entry.display_name for entry in match.missing] == ["Bo Wu"]


def test_without_identities_moodle_ids_cannot_match_a_roster_without_participants(users):
    assert match_roster(users, ["moodle-1003"]).unknown == ("moodle-1003",)


def test_an_nbgrader_folder_matches_a_login_email_or_id_number(canvas, users):
    match = match_roster(canvas, ["jdoe", "S003", "nobody"])
    assert {s: e.row for s, e in match.matched.items()} == {"jdoe": 3, "S003": 5}
    assert match.unknown == ("nobody",)
    by_email = match_roster(users, ["zoe.li", "bo.wu", "S2"])
    assert {s: e.row for s, e in by_email.matched.items()} == {"bo.wu": 6, "S2": 3}
    assert list(by_email.ambiguous) == ["zoe.li"]  # zoe.li@uni and zoe.li@other


def test_name_only_ids_match_by_name_even_without_identities(canvas):
    folders = [name_student_id(name) for name in ["Jane Doe", "Zoë Li", "Zoé Li", "Ann Lee"]]
    match = match_roster(canvas, folders)
    assert {s: e.row for s, e in match.matched.items()} == {
        folders[0]: 3,  # "Doe, Jane" is Jane Doe
        folders[1]: 6,
        folders[2]: 7,
    }
    assert [e.row for e in match.ambiguous[folders[3]]] == [4, 5]


def test_two_graded_students_claiming_one_row_are_both_left_out(canvas):
    match = match_roster(canvas, ["canvas-30001", "jdoe"])
    assert match.matched == {}
    assert {s: [e.row for e in rows] for s, rows in match.ambiguous.items()} == {
        "canvas-30001": [3],
        "jdoe": [3],
    }
    assert 3 not in [entry.row for entry in match.missing]
