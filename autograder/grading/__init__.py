"""Grading a class: ingest, plan, sandboxed workers (a process pool or Dask), merge and export.

The contracts between the pieces are in :mod:`autograder.grading.pipeline.records`.
"""
