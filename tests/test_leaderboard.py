"""The leaderboard: scoring, history, daily limit, deadline, BEAT ME and the page."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import numpy as np
import pytest
from sklearn.metrics import f1_score

from autograder.leaderboard import (
    HISTORY_CSV,
    LeaderboardError,
    read_history,
    scores,
    update_leaderboard,
)

ROWS = 200


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


def _upload(folder, stamp, team, predictions, header="ID,Prediction"):
    path = folder / stamp / f"{team}.csv"
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
    baseline = _upload(
        tmp_path / "baseline", "2026-01-01T00-00", "baseline", _noisy(labels, 0.7, 9)
    )
    return update_leaderboard(
        uploads, tmp_path / "board", key, baseline, "test baseline", **options
    )


def test_scores_agree_with_sklearn_on_each_part(key_file):
    from autograder.dataset import load_answer_key

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
    _upload(uploads, "2026-11-10T20-00", "ada", _noisy(labels, 0.80, 1))
    _upload(uploads, "2026-11-11T20-00", "ada", labels)
    _upload(uploads, "2026-11-12T20-00", "ada", _noisy(labels, 0.85, 3))
    _upload(uploads, "2026-11-11T09-30", "ben", _noisy(labels, 0.90, 4))
    result = _board(tmp_path, key_file, uploads)
    assert [(s.rank, s.team, s.entries) for s in result.standings] == [(1, "ada", 3), (2, "ben", 1)]
    assert result.standings[0].best_submitted_at == "2026-11-11T20:00:00+00:00"
    table = list(csv.DictReader(result.table.read_text().splitlines()))
    assert [row["team"] for row in table][:2] == ["ada", "ben"]
    assert "private_accuracy" not in table[0]  # public view before the deadline


def test_the_beat_me_row_is_the_scored_baseline_in_its_place(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    _upload(uploads, "2026-11-10T20-00", "strong", _noisy(labels, 0.95, 1))
    _upload(uploads, "2026-11-10T20-00", "weak", _noisy(labels, 0.30, 2))
    result = _board(tmp_path, key_file, uploads)
    teams = [row["team"] for row in csv.DictReader(result.table.read_text().splitlines())]
    assert teams == ["strong", "BEAT ME (test baseline)", "weak"]
    page = result.markdown.read_text()
    assert "| **BEAT ME (test baseline)** |" in page
    assert f"**{result.baseline.public_accuracy:.2%}**" in page


def test_uploads_over_the_daily_limit_are_kept_but_not_scored(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    for minute in range(4):
        _upload(
            uploads, f"2026-11-12T21-0{minute}", "ben", _noisy(labels, 0.5 + 0.1 * minute, minute)
        )
    _upload(uploads, "2026-11-13T08-00", "ben", _noisy(labels, 0.6, 9))
    result = _board(tmp_path, key_file, uploads, daily_limit=2)
    statuses = [u.status for u in result.new]
    assert statuses == [
        "scored",
        "scored",
        "over the daily limit",
        "over the daily limit",
        "scored",
    ]
    assert result.new[2].reason == "2 uploads already scored on 2026-11-12 (UTC)"
    assert result.standings[0].entries == 3


def test_an_invalid_upload_is_recorded_with_the_checker_message(tmp_path, key_file):
    uploads = tmp_path / "uploads"
    _upload(uploads, "2026-11-12T20-00", "hana", key_file[1], header="Id,Label")
    result = _board(tmp_path, key_file, uploads)
    (upload,) = result.new
    assert upload.status == "invalid"
    assert upload.reason.startswith("hana.csv") and "ID,Prediction" in upload.reason
    assert result.standings == []
    assert "*No scored uploads yet.*" in result.markdown.read_text()


def test_history_is_kept_across_runs_and_uploads_are_taken_in_once(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    _upload(uploads, "2026-11-10T20-00", "ada", _noisy(labels, 0.8, 1))
    first = _board(tmp_path, key_file, uploads)
    assert len(first.new) == 1
    again = _board(tmp_path, key_file, uploads)
    assert again.new == []
    _upload(uploads, "2026-11-11T20-00", "ada", _noisy(labels, 0.9, 2))
    third = _board(tmp_path, key_file, uploads)
    assert len(third.new) == 1
    history = read_history(tmp_path / "board" / HISTORY_CSV)
    assert [u.submitted_at[:10] for u in history] == ["2026-11-10", "2026-11-11"]
    for upload in history:
        assert (tmp_path / "board" / upload.file).is_file()  # every upload kept as sent


def test_after_the_deadline_private_scores_rank_and_late_uploads_do_not_count(tmp_path, key_file):
    labels = key_file[1]
    uploads = tmp_path / "uploads"
    _upload(uploads, "2026-11-10T20-00", "ada", _noisy(labels, 0.9, 1))
    _upload(uploads, "2026-11-10T20-00", "ben", _noisy(labels, 0.9, 2))
    _upload(uploads, "2026-11-20T20-00", "ben", labels)
    deadline = datetime(2026, 11, 15, tzinfo=UTC)
    result = _board(
        tmp_path,
        key_file,
        uploads,
        deadline=deadline,
        now=datetime(2026, 11, 16, tzinfo=UTC),
    )
    assert result.final
    assert [u.status for u in result.new] == ["scored", "scored", "late"]
    order = sorted(result.standings, key=lambda s: -s.private_accuracy)
    assert [s.team for s in result.standings] == [s.team for s in order]
    assert "private_accuracy" in result.table.read_text().splitlines()[0]
    assert "Final standings" in result.markdown.read_text()


def test_a_history_file_with_other_columns_is_never_overwritten(tmp_path, key_file):
    board = tmp_path / "board"
    board.mkdir()
    (board / HISTORY_CSV).write_text("team,score\nada,1\n")
    with pytest.raises(LeaderboardError, match="expected the columns team,submitted_at"):
        _board(tmp_path, key_file, None)
    assert (board / HISTORY_CSV).read_text() == "team,score\nada,1\n"
