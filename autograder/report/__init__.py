"""Pages for the teaching team, never published: the class report and the similarity page.

- :mod:`autograder.report.sources` reads what ``coursekit grade`` and ``coursekit
  leaderboard`` left in the course folder (the only module that knows where);
- :mod:`autograder.report.classreport` turns it into the class's numbers;
- :mod:`autograder.report.similarity` ranks pairs of students by shared solution code;
- :mod:`autograder.report.figures` and :mod:`autograder.report.html` draw and write the pages.
"""

THRESHOLD = 0.5  # the similarity score from which a pair of students is flagged
MIN_SHARED = 100  # characters of normalized code a flagged pair must share
