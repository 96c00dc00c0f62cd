"""Grading the written answers: the TAs' pages, their scores file, and the scores' history.

- :mod:`~autograder.grading.manual.answers`: the tasks a person grades, with their rubric
  from the source notebook, and each student's answer and outputs as handed in;
- :mod:`~autograder.grading.manual.pages`: one offline page per task that downloads a CSV;
- :mod:`~autograder.grading.manual.scorefile`: that CSV, checked whole before anything is kept;
- :mod:`~autograder.grading.manual.store`: the append-only history per TA and the gradebook
  kept in step with it, after an import and after every regrade;
- :mod:`~autograder.grading.manual.progress`: what is still to grade, per task and per TA.

``coursekit review`` (:mod:`autograder.cli.review`) is the command line.
"""
