"""The pipeline: one student's files in, a merged record and grade files out.

:func:`.grade.grade_class` reads as its steps: template (:mod:`.template`), ingest
(:mod:`.ingest`), schedule, workers (:mod:`.worker` on :mod:`.runner`: preflight, execute,
feedback), merge (:mod:`.merge`, :mod:`.gradebook`), exports (:mod:`.exports`).
"""
