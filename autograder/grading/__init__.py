"""Grading a class, in rooms by purpose.

- :mod:`.sandbox`: containment (bubblewrap, seccomp, control groups, warm kernels);
- :mod:`.checker`: the trusted side that runs the tests and decides every verdict;
- :mod:`.pipeline`: ingest, workers, merge, gradebook, feedback and grade files;
- :mod:`.lms`: identities, rosters, late penalties, Canvas and Moodle files;
- :mod:`.manual`: the TAs' pages and scores for the written answers.

The contracts between the pieces are in :mod:`autograder.grading.pipeline.records`.
"""
