"""Exceptions the kit raises for bad input.

Every message names the file, row or setting at fault and says what was
expected, so a student or instructor can fix the problem without a traceback.
"""


class CourseKitError(Exception):
    """Base class for every error the kit reports to a person."""


class DownloadError(CourseKitError):
    """No source delivered a file with the expected checksum."""


class DatasetError(CourseKitError):
    """A dataset file is missing, unreadable or has the wrong contents."""


class SubmissionError(CourseKitError):
    """A leaderboard submission CSV does not follow the rules."""
