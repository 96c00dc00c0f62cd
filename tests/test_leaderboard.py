"""The leaderboard: scoring, history, daily limit, deadline, BEAT ME and the page; and what
it does with hostile uploads: team-name variants, fake dates, unsafe names, BEAT ME
impostors, formula cells, oversized and unreadable files, reruns."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from autograder.leaderboard import intake
from autograder.leaderboard.board import replay_rounds, update_leaderboard
from autograder.leaderboard.history import HISTORY_CSV, LeaderboardError, UploadStatus, read_history
from autograder.leaderboard.intake import scores
from autograder.leaderboard.names import UploadRefused, team_key, team_name
from autograder.settings import LeaderboardOptions
from autograder.spreadsheet import FORMULA_STARTS

ROWS = 200
LIMITS = {
    "daily_limit": LeaderboardOptions().daily_limit,
    "max_upload_bytes": LeaderboardOptions().max_upload_bytes,
}
DAY_1 = datetime(2026, 11, 10, 20, 0, tzinfo=UTC)
DAY_2 = DAY_1 + timedelta(days=1)
DAY_3 = DAY_1 + timedelta(days=2)


@pytest.fixture
def key_file(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, ROWS)
    path = tmp_path / "answer_key.csv"
    lines = ["ID,Label,Usage,SourceIndex"]
    lines += [
        f"{i},{label},{'Public' if i % 3 == 0 else 'Private'},{i}" for i, label in enumerate(labels)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path, labels


def _upload(folder, group, team, predictions, header="ID,Prediction"):
    path = folder / group / f"{team}.csv" if group else folder / f"{team}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "".join(f"{i},{p}\n" for i, p in enumerate(predictions)))
    return path


def _noisy(labels, accuracy, seed):
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(labels)) >= accuracy
    out = labels.copy()
    out[wrong] = (labels[wrong] + 1) % 10
    return out


def _board(tmp_path, key_file, uploads, **options):
    key, labels = key_file
    baseline = _upload(tmp_path / "baseline", "", "baseline", _noisy(labels, 0.7, 9))
    options.setdefault("now", DAY_1)
    options = LIMITS | options
    return update_leaderboard(
        uploads, tmp_path / "board", key, baseline, "test baseline", **options
    )


def _cells(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return [cell for row in csv.reader(stream) for cell in row]


# -- scoring, ranking, limits -----------------------------------------------------------------


def test_scores_agree_with_sklearn_on_each_part(key_file):
    from autograder.course.dataset import load_answer_key

    key = load_answer_key(key_file[0])
    predictions = _noisy(key_file[1], 0.8, 1)
    result = scores(predictions, key)
    public = np.asarray(key["is_public"], dtype=bool)
    labels = key_file[1]
    assert result["public_accuracy"] == pytest.approx(
        np.mean(predictions[public] == labels[public])
    )
    assert result["private_f1"] == pytest.approx(
        f1_score(labels[~public], predictions[~public], average="macro")
    )


def test_each_team_is_ranked_by_its_best_public_upload(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    _upload(uploads, "day1", "ada", _noisy(labels, 0.80, 1))
    _upload(uploads, "day1", "ben", _noisy(labels, 0.90, 4))
    _board(tmp_path, key_file, uploads, now=DAY_1)
    _upload(uploads, "day2", "ada", labels)
    _board(tmp_path, key_file, uploads, now=DAY_2)
    _upload(uploads, "day3", "ada", _noisy(labels, 0.85, 3))
    result = _board(tmp_path, key_file, uploads, now=DAY_3)
    assert [(s.rank, s.team, s.entries) for s in result.standings] == [(1, "ada", 3), (2, "ben", 1)]
    assert result.standings[0].best_received_at == DAY_2
    table = list(csv.DictReader(result.table.read_text().splitlines()))
    assert [row["team"] for row in table][:2] == ["ada", "ben"]
    assert table[0]["best_received_at"] == "2026-11-11T20:00:00+00:00"
    assert "private_accuracy" not in table[0]  # public view before the deadline


def test_the_beat_me_row_is_the_scored_baseline_in_its_place(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    _upload(uploads, "round", "strong", _noisy(labels, 0.95, 1))
    _upload(uploads, "round", "weak", _noisy(labels, 0.30, 2))
    result = _board(tmp_path, key_file, uploads)
    teams = [row["team"] for row in csv.DictReader(result.table.read_text().splitlines())]
    assert teams == ["strong", "BEAT ME (test baseline)", "weak"]
    page = result.markdown.read_text()
    assert "| **BEAT ME (test baseline)** |" in page
    assert f"**{result.baseline.public_accuracy:.2%}**" in page
    assert "*Updated 2026-11-10 20:00 UTC." in page  # the run's own time


def test_uploads_over_the_daily_limit_are_kept_but_not_scored(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    for minute in range(4):
        _upload(uploads, f"try{minute}", "ben", _noisy(labels, 0.5 + 0.1 * minute, minute))
    first = _board(tmp_path, key_file, uploads, daily_limit=2, now=DAY_3)
    _upload(uploads, "next-day", "ben", _noisy(labels, 0.6, 9))
    second = _board(tmp_path, key_file, uploads, daily_limit=2, now=DAY_3 + timedelta(days=1))
    statuses = [u.status for u in first.new + second.new]
    assert statuses == [
        UploadStatus.SCORED,
        UploadStatus.SCORED,
        UploadStatus.OVER_DAILY_LIMIT,
        UploadStatus.OVER_DAILY_LIMIT,
        UploadStatus.SCORED,
    ]
    assert first.new[2].reason == "2 uploads already scored on 2026-11-12 (UTC)"
    assert second.standings[0].entries == 3


def test_an_invalid_upload_is_recorded_with_the_checker_message(tmp_path, key_file):
    uploads = tmp_path / "uploads"
    _upload(uploads, "round", "hana", key_file[1], header="Id,Label")
    result = _board(tmp_path, key_file, uploads)
    (upload,) = result.new
    assert upload.status == "invalid"
    assert upload.reason.startswith("hana.csv") and "ID,Prediction" in upload.reason
    assert result.standings == []
    assert "*No scored uploads yet.*" in result.markdown.read_text()


def test_history_is_kept_across_runs_and_uploads_are_taken_in_once(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    _upload(uploads, "a", "ada", _noisy(labels, 0.8, 1))
    first = _board(tmp_path, key_file, uploads, now=DAY_1)
    assert len(first.new) == 1
    again = _board(tmp_path, key_file, uploads, now=DAY_2)
    assert again.new == []
    _upload(uploads, "b", "ada", _noisy(labels, 0.9, 2))
    third = _board(tmp_path, key_file, uploads, now=DAY_2)
    assert len(third.new) == 1
    history = read_history(tmp_path / "board" / HISTORY_CSV)
    assert [u.received_at for u in history] == [DAY_1, DAY_2]
    for upload in history:
        stored = tmp_path / "board" / upload.file
        assert stored.read_bytes() == (uploads / upload.source).read_bytes()  # kept as sent


def test_after_the_deadline_private_scores_rank_and_late_uploads_do_not_count(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    deadline = datetime(2026, 11, 15, tzinfo=UTC)
    _upload(uploads, "r1", "ada", _noisy(labels, 0.9, 1))
    _upload(uploads, "r1", "ben", _noisy(labels, 0.9, 2))
    before = _board(tmp_path, key_file, uploads, deadline=deadline, now=deadline - timedelta(1))
    assert not before.final
    _upload(uploads, "r2", "ben", labels)
    result = _board(tmp_path, key_file, uploads, deadline=deadline, now=deadline + timedelta(1))
    assert result.final
    assert [u.status for u in before.new + result.new] == ["scored", "scored", "late"]
    assert result.new[0].reason == "received after the deadline 2026-11-15 00:00 UTC"
    order = sorted(result.standings, key=lambda s: -s.private_accuracy)
    assert [s.team for s in result.standings] == [s.team for s in order]
    assert "private_accuracy" in result.table.read_text().splitlines()[0]
    assert "Final standings" in result.markdown.read_text()


def test_a_history_file_with_other_columns_is_never_overwritten(tmp_path, key_file):
    board = tmp_path / "board"
    board.mkdir()
    (board / HISTORY_CSV).write_text("team,score\nada,1\n")
    with pytest.raises(LeaderboardError, match="expected the columns team,team_key,received_at"):
        _board(tmp_path, key_file, None)
    assert (board / HISTORY_CSV).read_text() == "team,score\nada,1\n"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"team,team_key\xff\n", "cannot be read"),
        (None, "cannot be read"),  # a folder
        ("unknown status", "row 2"),
        ("bad time", "row 2"),
        ("short row", "row 2"),
    ],
)
def test_an_unreadable_history_stops_the_run_in_one_line_and_is_kept(
    tmp_path, key_file, content, problem
):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    _upload(uploads, "r", "ada", labels)
    _board(tmp_path, key_file, uploads)
    history = tmp_path / "board" / HISTORY_CSV
    good = history.read_text()
    if content is None:
        history.unlink()
        history.mkdir()
    elif isinstance(content, bytes):
        history.write_bytes(content)
    else:
        row = good.splitlines()[1]
        broken = {
            "unknown status": row.replace(",scored,", ",maybe,"),
            "bad time": row.replace("2026-11-10T20:00:00+00:00", "2026-02-30T10:00:00+00:00"),
            "short row": row.rsplit(",", 2)[0],
        }[content]
        history.write_text(good.splitlines()[0] + "\n" + broken + "\n")
    before = history.read_bytes() if history.is_file() else None
    _upload(uploads, "r2", "ben", labels)
    with pytest.raises(LeaderboardError, match=problem) as error:
        _board(tmp_path, key_file, uploads)
    assert "not overwriting it" in str(error.value) and "\n" not in str(error.value)
    assert (history.read_bytes() if history.is_file() else None) == before
    assert not (tmp_path / "board" / "uploads" / "team-ben").exists()  # nothing taken in


# -- 1. one team, however it is spelt --------------------------------------------------------

QUOTA_SPELLINGS = ["Quota", "quota", "QUOTA", "quota.", "quota-", " quota ", "ＱＵＯＴＡ",
                   "qu_ota", "Quotá", "quоta"]  # the last "о" is Cyrillic  # fmt: skip


@pytest.mark.parametrize("spelling", QUOTA_SPELLINGS)
def test_case_punctuation_width_accents_and_look_alikes_name_the_same_team(spelling):
    assert team_key(spelling) == "quota"
    assert team_name(spelling).key == "quota"


def test_a_team_cannot_multiply_its_daily_limit_by_respelling_its_name(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    for index, spelling in enumerate(QUOTA_SPELLINGS[:5]):
        for attempt in range(5):
            group = f"g{index}{attempt}"
            _upload(
                uploads, group, spelling, _noisy(labels, 0.5 + 0.01 * attempt, index * 5 + attempt)
            )
    result = _board(tmp_path, key_file, uploads, daily_limit=5)
    statuses = [u.status for u in result.new]
    assert len(statuses) == 25
    assert statuses.count(UploadStatus.SCORED) == 5
    assert statuses.count(UploadStatus.OVER_DAILY_LIMIT) == 20
    assert {u.team_key for u in result.new} == {"quota"}
    (standing,) = result.standings  # one row per team
    assert standing.team == "Quota" and standing.entries == 5  # the first spelling seen


# -- 2. received times, never names or file times --------------------------------------------


def test_dates_in_folder_names_and_file_times_are_ignored(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    _upload(uploads, "2026-11-10T20-00", "honest", labels)
    _board(tmp_path, key_file, uploads, now=DAY_1)
    old = _upload(uploads, "1970-01-01T00-00", "cheat", labels)
    future = _upload(uploads, "2099-12-31T23-59", "cheat", _noisy(labels, 0.9, 1))
    impossible = _upload(uploads, "2026-02-30T10-00", "cheat", _noisy(labels, 0.9, 2))
    tree = uploads / "cheat" / "cnn" / "submission.csv"
    tree.parent.mkdir(parents=True)
    tree.write_text(old.read_text().replace("\n", "\r\n"))
    for path in (old, future, impossible, tree):
        os.utime(path, (0, 0))  # 1970
    result = _board(tmp_path, key_file, uploads, now=DAY_2, daily_limit=2)
    assert {u.received_at for u in result.new} == {DAY_2}
    statuses = sorted(u.status.value for u in result.new)
    assert statuses == ["over the daily limit", "over the daily limit", "scored", "scored"]
    assert [s.team for s in result.standings] == ["honest", "cheat"]  # honest came first
    assert result.standings[1].best_received_at == DAY_2


# -- 3. unsafe names -------------------------------------------------------------------------

UNSAFE_NAMES = [
    ("..", "no letters or digits"),
    (".", "no letters or digits"),
    ("", "no letters or digits"),
    ("-_-", "no letters or digits"),
    ("a\\..\\..\\evil", "path separator"),
    ("／etc／passwd", "path separator"),  # full-width solidus: "/" once normalised
    ("red\x1b[31m", "control or invisible"),
    ("line\nbreak", "control or invisible"),
    ("zero\u200bwidth", "control or invisible"),
    ("\u202eevil", "control or invisible"),  # right-to-left override
    ("x" * 41, "longer than 40 characters"),
]


@pytest.mark.parametrize(("name", "reason"), UNSAFE_NAMES)
def test_names_that_are_not_safe_path_components_are_refused_with_a_reason(name, reason):
    with pytest.raises(UploadRefused, match=reason):
        team_name(name)


def test_unsafe_names_are_refused_rows_and_nothing_lands_outside_the_uploads_folder(
    tmp_path, key_file
):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    for name in ["..", ".", "", "red\x1b[31m", "line\nbreak", "a\\..\\..\\evil", "x" * 41]:
        _upload(uploads, "r", name, labels)
    _upload(uploads, "r", "fine", labels)
    outside_before = _everything_but_the_board(tmp_path)
    result = _board(tmp_path, key_file, uploads)
    refused = [u for u in result.new if u.status is UploadStatus.REFUSED]
    assert len(refused) == 7 and all(u.reason and not u.file for u in refused)
    assert [s.team for s in result.standings] == ["fine"]
    assert _everything_but_the_board(tmp_path) == outside_before
    uploads_folder = (tmp_path / "board" / "uploads").resolve()
    stored = [p for p in (tmp_path / "board").rglob("*") if p.is_file()]
    assert all(
        p.resolve().is_relative_to(uploads_folder) or p.parent == tmp_path / "board" for p in stored
    )
    for cell in _cells(tmp_path / "board" / HISTORY_CSV):
        assert "\x1b" not in cell and "\n" not in cell  # written as escapes


def _everything_but_the_board(tmp_path):
    return sorted(
        (p, p.lstat().st_size)
        for p in tmp_path.rglob("*")
        if not {"board", "baseline"} & set(p.relative_to(tmp_path).parts)
    )


def test_a_planted_link_cannot_carry_a_stored_copy_out_of_the_uploads_folder(tmp_path, key_file):
    labels = key_file[1]
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "board" / "uploads").mkdir(parents=True)
    (tmp_path / "board" / "uploads" / "team-ada").symlink_to(outside)
    uploads = tmp_path / "uploads"
    _upload(uploads, "r", "ada", labels)
    _upload(uploads, "r", "ben", labels)
    result = _board(tmp_path, key_file, uploads)
    ada, ben = result.new
    assert ada.status is UploadStatus.REFUSED and "outside" in ada.reason
    assert ben.status is UploadStatus.SCORED
    assert list(outside.iterdir()) == []


def test_relative_folders_work_like_absolute_ones(tmp_path, key_file, monkeypatch):
    key, labels = key_file
    _upload(tmp_path / "uploads", "r", "ada", labels)
    baseline = _upload(tmp_path, "", "baseline", labels)
    monkeypatch.chdir(tmp_path)
    result = update_leaderboard(
        Path("uploads"), Path("board"), key, baseline, "b", now=DAY_1, **LIMITS
    )
    (upload,) = result.new
    assert upload.status is UploadStatus.SCORED
    assert (tmp_path / "board" / upload.file).is_file()


def test_the_leaderboards_own_folder_inside_the_uploads_is_never_taken_in(tmp_path, key_file):
    key, labels = key_file
    uploads = tmp_path / "uploads"
    _upload(uploads, "r", "ada", labels)
    baseline = _upload(tmp_path, "", "baseline", labels)
    board = uploads / "board"
    update_leaderboard(uploads, board, key, baseline, "b", now=DAY_1, **LIMITS)
    again = update_leaderboard(uploads, board, key, baseline, "b", now=DAY_2, **LIMITS)
    assert again.new == []


# -- 4. BEAT ME impostors --------------------------------------------------------------------

IMPOSTORS = ["BEAT ME", "BEAT_ME", "beat me", "Beat-Me", "ＢＥＡＴ ＭＥ", "BeatMe",
             "béat mé", "ВЕАТ МЕ", "BEAT ME (MLP baseline)", "beat.me.2"]  # fmt: skip


@pytest.mark.parametrize("name", IMPOSTORS)
def test_names_that_read_like_the_beat_me_row_are_refused(name):
    with pytest.raises(UploadRefused, match="reads like the BEAT ME baseline row"):
        team_name(name)


def test_an_impostor_upload_never_adds_a_second_beat_me_row(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    for index, name in enumerate(IMPOSTORS):
        _upload(uploads, f"r{index}", name, labels)
    result = _board(tmp_path, key_file, uploads)
    assert {u.status for u in result.new} == {UploadStatus.REFUSED}
    teams = [row["team"] for row in csv.DictReader(result.table.read_text().splitlines())]
    assert teams == ["BEAT ME (test baseline)"]


# -- 5. formula cells ------------------------------------------------------------------------


def test_history_and_table_never_hold_a_cell_that_starts_a_formula(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    _upload(uploads, "r", "=HYPERLINK(0)", labels)
    _upload(uploads, "r", "@SUM(A1)", _noisy(labels, 0.9, 1))
    _upload(uploads, "r", "+cmd", _noisy(labels, 0.8, 2))
    _upload(uploads, "r", "-2+3", labels, header="=1+1,@x")  # invalid: the reason quotes it
    result = _board(tmp_path, key_file, uploads)
    invalid = next(u for u in result.new if u.status is UploadStatus.INVALID)
    assert invalid.reason.startswith("-2+3.csv") and "=1+1,@x" in invalid.reason
    board = tmp_path / "board"
    for path in (board / HISTORY_CSV, result.table):
        cells = _cells(path)
        assert "'=HYPERLINK(0)" in cells and "'@SUM(A1)" in cells and "'+cmd" in cells
        risky = [c for c in cells if c.startswith(FORMULA_STARTS) and not _is_number(c)]
        assert risky == []
    reasons = [cell for cell in _cells(board / HISTORY_CSV) if "header is" in cell]
    assert reasons == ["'" + invalid.reason] and invalid.reason.startswith("-2+3.csv: line 1")


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_a_rerun_reads_neutralised_cells_back_exactly_and_never_adds_a_second_mark(
    tmp_path, key_file
):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    _upload(uploads, "r", "=HYPERLINK(0)", labels)
    _upload(uploads, "r", "'quoted", labels)
    _board(tmp_path, key_file, uploads)
    history_csv = tmp_path / "board" / HISTORY_CSV
    written = history_csv.read_bytes()
    assert {u.team for u in read_history(history_csv)} == {"=HYPERLINK(0)", "'quoted"}
    _board(tmp_path, key_file, uploads, now=DAY_2)
    assert history_csv.read_bytes() == written


def test_team_names_cannot_break_the_markdown_page(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    _upload(uploads, "r", "a|b <script>x", labels)
    result = _board(tmp_path, key_file, uploads)
    page = result.markdown.read_text()
    assert "<script>" not in page and "a\\|b \\<script\\>x" in page
    row = next(line for line in page.splitlines() if "script" in line)
    assert row.replace("\\|", "").count("|") == 7  # six cells


# -- 6. size cap -----------------------------------------------------------------------------


def test_an_upload_over_the_size_cap_is_refused_before_it_is_read(tmp_path, key_file, monkeypatch):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    big = _upload(uploads, "r", "big", labels)
    with open(big, "a") as stream:
        stream.write("\n" * (LIMITS["max_upload_bytes"]))
    _upload(uploads, "r", "small", labels)
    checked = []
    real_check = intake.validate_submission
    monkeypatch.setattr(
        intake,
        "validate_submission",
        lambda path, rows: checked.append(path) or real_check(path, rows),
    )
    result = _board(tmp_path, key_file, uploads)
    big_upload, small_upload = result.new
    assert big_upload.status is UploadStatus.REFUSED
    assert "over the upload size cap of 1,048,576 bytes" in big_upload.reason
    assert big_upload.file == "" and big_upload.sha256 == ""
    assert small_upload.status is UploadStatus.SCORED
    assert not any("big" in str(path) for path in checked)


def test_the_size_cap_is_a_parameter(tmp_path, key_file):
    uploads = tmp_path / "uploads"
    _upload(uploads, "r", "ada", key_file[1])
    (upload,) = _board(tmp_path, key_file, uploads, max_upload_bytes=100).new
    assert upload.status is UploadStatus.REFUSED and "cap of 100 bytes" in upload.reason


# -- 7. every refusal a row, never a crash ---------------------------------------------------


def test_links_folders_pipes_and_unreadable_files_are_refused_and_the_rest_are_scored(
    tmp_path, key_file
):
    key, labels = key_file
    uploads = tmp_path / "uploads" / "r"
    uploads.mkdir(parents=True)
    (uploads / "folder.csv").mkdir()
    (uploads / "link.csv").symlink_to(key)  # would copy the answer key
    os.mkfifo(uploads / "pipe.csv")  # would block a reader forever
    (uploads / "dangling.csv").symlink_to(tmp_path / "nowhere")
    (uploads / "loop.csv").symlink_to(uploads / "loop.csv")  # a link to itself
    (uploads / "loop").symlink_to(uploads / "loop")
    _upload(uploads, "", "undecodable", labels)
    (uploads / "undecodable.csv").write_bytes(b"ID,Prediction\n\xff\xfe\n")
    _upload(uploads, "", "good", labels)
    result = _board(tmp_path, key_file, uploads.parent)
    by_team = {u.team: u for u in result.new}
    assert "is a folder" in by_team["folder"].reason
    assert "is a link" in by_team["link"].reason and "is a link" in by_team["dangling"].reason
    assert "not a regular file" in by_team["pipe"].reason
    assert "is a link" in by_team["loop"].reason
    for team in ("folder", "link", "pipe", "dangling", "loop"):
        assert by_team[team].status is UploadStatus.REFUSED
    assert by_team["undecodable"].status is UploadStatus.INVALID
    assert "UTF-8" in by_team["undecodable"].reason
    assert by_team["good"].status is UploadStatus.SCORED
    assert not list((tmp_path / "board" / "uploads").glob("team-link/*"))
    again = _board(tmp_path, key_file, uploads.parent, now=DAY_2)
    assert again.new == []  # each refusal is recorded once


def test_a_file_that_cannot_be_opened_is_refused_and_the_rest_are_scored(
    tmp_path, key_file, monkeypatch
):
    uploads = tmp_path / "uploads"
    locked = _upload(uploads, "r", "ada", key_file[1])
    _upload(uploads, "r", "ben", key_file[1])
    real_open = os.open

    def open_(path, *args, **kwargs):  # what chmod 000 does, for root too
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    ada, ben = _board(tmp_path, key_file, uploads).new
    assert ada.status is UploadStatus.REFUSED
    assert ada.reason == "ada.csv cannot be read (Permission denied)"
    assert ben.status is UploadStatus.SCORED


def test_a_rerun_neither_double_counts_nor_restamps_a_respelled_copy(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    _upload(uploads, "r1", "ada", _noisy(labels, 0.8, 1))
    _board(tmp_path, key_file, uploads, now=DAY_1, daily_limit=1)
    (uploads / "r2").mkdir()
    (uploads / "r2" / "ADA.csv").write_bytes((uploads / "r1" / "ada.csv").read_bytes())
    _upload(uploads, "r3", "ada", _noisy(labels, 0.9, 2))
    result = _board(tmp_path, key_file, uploads, now=DAY_2, daily_limit=1)
    assert [(u.source, u.status) for u in result.new] == [("r3/ada.csv", UploadStatus.SCORED)]
    history = read_history(tmp_path / "board" / HISTORY_CSV)
    assert [u.received_at for u in history] == [DAY_1, DAY_2]
    assert result.standings[0].entries == 2


# -- replaying recorded rounds (demos and tests) ---------------------------------------------


def test_replay_takes_in_each_round_at_the_time_its_name_gives(tmp_path, key_file):
    key, labels = key_file
    rounds = tmp_path / "rounds"
    _upload(rounds, "2026-11-11T20-00", "ada", labels)
    _upload(rounds, "2026-11-10T20-00", "ada", _noisy(labels, 0.8, 1))
    for minute in range(3):
        _upload(rounds, f"2026-11-11T21-0{minute}", "ada", _noisy(labels, 0.8, 2 + minute))
    baseline = _upload(tmp_path, "", "baseline", labels)
    result = replay_rounds(
        rounds,
        tmp_path / "board",
        key,
        baseline,
        "b",
        daily_limit=2,
        max_upload_bytes=LIMITS["max_upload_bytes"],
    )
    assert [u.received_at.isoformat(timespec="minutes") for u in result.new] == [
        "2026-11-10T20:00+00:00",
        "2026-11-11T20:00+00:00",
        "2026-11-11T21:00+00:00",
        "2026-11-11T21:01+00:00",
        "2026-11-11T21:02+00:00",
    ]
    assert [u.status.value for u in result.new].count("over the daily limit") == 2


def test_replay_checks_every_round_name_before_taking_anything_in(tmp_path, key_file):
    key, labels = key_file
    rounds = tmp_path / "rounds"
    _upload(rounds, "2026-11-10T20-00", "ada", labels)
    _upload(rounds, "2026-02-30T10-00", "ben", labels)
    baseline = _upload(tmp_path, "", "baseline", labels)
    with pytest.raises(LeaderboardError, match="'2026-02-30T10-00' is not a time"):
        replay_rounds(rounds, tmp_path / "board", key, baseline, "b", **LIMITS)
    assert not (tmp_path / "board" / HISTORY_CSV).exists()


def test_the_command_replays_rounds_and_refuses_now_with_replay(tmp_path, key_file, capsys):
    from autograder.cli.main import main

    key, labels = key_file
    data = tmp_path / "data"
    (data / "private").mkdir(parents=True)
    (data / "private" / "answer_key.csv").write_bytes(key.read_bytes())
    _upload(data / "private", "", "baseline_predictions", labels)
    (data / "private" / "baseline.json").write_text(json.dumps({"description": "b"}))
    rounds = tmp_path / "rounds"
    _upload(rounds, "2026-11-10T20-00", "ada", labels)
    _upload(rounds, "2026-11-10T20-00", "..", labels)
    common = ["leaderboard", "cnn", "--submissions", str(rounds), "--course-data", str(data)]
    out = ["--out", str(tmp_path / "board")]
    assert main([*common, *out, "--replay"]) == 0
    printed = capsys.readouterr().out
    assert "2 new uploads (1 refused, 1 scored)" in printed
    assert "..: refused: the team name '..' has no letters or digits" in printed.replace(
        " 2026-11-10T20:00+00:00", ""
    )
    with pytest.raises(SystemExit) as exit_:
        main([*common, *out, "--replay", "--now", "2026-11-10T20:00"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
