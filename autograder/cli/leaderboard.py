"""``coursekit leaderboard``: score uploads, rank teams, and close the board at its deadline."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from autograder.cli.options import add_course_options, positive_int, utc_time
from autograder.layout import CourseLayout
from autograder.settings import Settings
from utilities.errors import CourseKitError


def add_leaderboard_commands(commands, settings: Settings) -> None:
    options = settings.leaderboard
    board = commands.add_parser(
        "leaderboard",
        help="score leaderboard uploads and write leaderboard.csv and leaderboard.md",
        description=(
            "Take in new uploads (TEAM.csv, GROUP/TEAM.csv or TEAM/ASSIGNMENT/submission.csv), "
            "stamped with the time this run receives them (never a name or a file time). "
            "Team names are compared by their Unicode confusable skeleton (UTS #39); unsafe "
            "names, BEAT ME look-alikes, unregistered teams (when teams.csv exists), links, "
            "folders and files over the size cap are refused with a reason. Check each upload "
            "with the students' checker, score accuracy and macro F1 on the public and private "
            "test split, enforce the daily limit, and rewrite history.csv, leaderboard.csv "
            "(spreadsheet-safe) and leaderboard.md. The BEAT ME row comes from the documented "
            "baseline model, trained once if its predictions are missing."
        ),
    )
    board.add_argument("assignment", help="the assignment, e.g. cnn")
    board.add_argument("--submissions", type=Path, default=None, help="where new uploads are")
    add_course_options(board, settings)
    board.add_argument(
        "--out", type=Path, default=None, help="default: COURSE_ROOT/leaderboard/ASSIGNMENT"
    )
    board.add_argument(
        "--daily-limit",
        type=positive_int,
        default=options.daily_limit,
        help=f"(default: {options.daily_limit})",
    )
    board.add_argument(
        "--deadline",
        type=utc_time,
        default=None,
        help="ISO time (UTC); after it, uploads are late and private scores rank the teams",
    )
    board.add_argument(
        "--max-upload-bytes",
        type=positive_int,
        default=options.max_upload_bytes,
        help=f"uploads larger than this are refused unread (default: {options.max_upload_bytes:,})",
    )
    board.add_argument(
        "--register",
        metavar="TEAM",
        default=None,
        help="register a team in the leaderboard's teams.csv (with --members) and stop; "
        "once teams.csv exists, only registered teams' uploads are taken in",
    )
    board.add_argument(
        "--teams",
        type=Path,
        default=None,
        metavar="FILE",
        help="register every team of a team,student CSV file (e.g. an LMS's groups export, "
        "one row per member) before taking uploads in; the whole file is checked first",
    )
    board.add_argument(
        "--members",
        default="",
        help="with --register: the team's student ids, separated by commas",
    )
    replaying = board.add_mutually_exclusive_group()
    replaying.add_argument(
        "--now",
        type=utc_time,
        default=None,
        help="for replaying and testing only: the ISO time (UTC) this run receives new "
        "uploads at, instead of the clock",
    )
    replaying.add_argument(
        "--replay",
        action="store_true",
        help="for demos and tests only: take in each subfolder of --submissions as a past "
        "run at the UTC time its name gives (e.g. 2026-11-12T20-00), in time order",
    )
    board.set_defaults(run=_leaderboard)


def _register(args: argparse.Namespace, out: Path) -> int:
    from autograder.leaderboard.teams import TEAMS_CSV, register_team

    members = [member.strip() for member in args.members.split(",") if member.strip()]
    if not members:
        raise CourseKitError("--register needs --members ID,ID (the team's student ids)")
    teams = register_team(out, args.register, members)
    registered = sum(len(ids) for ids in teams.members.values())
    print(
        f"Registered {args.register!r} ({', '.join(members)}) in {out / TEAMS_CSV}: "
        f"{len(teams.names)} teams, {registered} students"
    )
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    from autograder.course.dataset import ANSWER_KEY_FILE, PRIVATE_DIR, STUDENT_FILE
    from autograder.leaderboard.baseline import baseline_predictions
    from autograder.leaderboard.board import UploadStatus, replay_rounds, update_leaderboard

    out = args.out or CourseLayout.at(args.course_root).leaderboard(args.assignment)
    if args.register is not None:
        return _register(args, out)
    if args.members:
        raise CourseKitError("--members goes with --register TEAM")
    if args.teams is not None:
        from autograder.leaderboard.teams import import_teams

        teams = import_teams(out, args.teams)
        print(f"Registered teams from {args.teams}: {len(teams.names)} teams in the registry")
    key = args.course_data / ANSWER_KEY_FILE
    if not key.is_file():
        raise CourseKitError(f"{key}: answer key not found; run `coursekit data build`")
    if args.replay and args.submissions is None:
        raise CourseKitError("--replay takes in the rounds under --submissions; give it")
    baseline_csv, info = baseline_predictions(
        args.course_data / STUDENT_FILE, args.course_data / PRIVATE_DIR
    )
    options = {
        "assignment": args.assignment,
        "daily_limit": args.daily_limit,
        "deadline": args.deadline,
        "max_upload_bytes": args.max_upload_bytes,
    }
    if args.replay:
        result = replay_rounds(
            args.submissions, out, key, baseline_csv, info["description"], **options
        )
    else:
        result = update_leaderboard(
            args.submissions, out, key, baseline_csv, info["description"], now=args.now, **options
        )
    counts = Counter(upload.status.value for upload in result.new)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"Leaderboard: {len(result.new)} new uploads ({summary or 'none'})")
    for upload in result.new:
        if upload.status is not UploadStatus.SCORED:
            received = upload.received_at.isoformat(timespec="minutes")
            print(f"  {upload.team} {received}: {upload.status.value}: {upload.reason}")
    for problem in result.selection_problems:
        print(f"  final selections: {problem}")
    view = "private (final)" if result.final else "public"
    print(
        f"  {len(result.standings)} teams ranked, {view} view; BEAT ME "
        f"{result.baseline.public_accuracy:.2%} public"
    )
    print(f"  table: {result.table}")
    print(f"  page:  {result.markdown}")
    return 0
