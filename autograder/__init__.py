"""What instructors run (the ``coursekit`` command), one subpackage per product.

- :mod:`autograder.course`: the dataset and answer key, the nbgrader course, markers, release;
- :mod:`autograder.grading`: ingest, sandboxed workers, merge, feedback, grades for the LMS;
- :mod:`autograder.leaderboard`: uploads, scoring, BEAT ME and leaderboard points;
- :mod:`autograder.site`: the course website;
- :mod:`autograder.demo`: the demo class;
- :mod:`autograder.cli`: the command line on top;
- :mod:`autograder.settings` and :mod:`autograder.resources`: defaults and bundled files.
"""
