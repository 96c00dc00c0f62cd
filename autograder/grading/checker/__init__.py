"""The trusted side: where every test runs and every verdict is decided, with no student code.

Exposes the plan (:mod:`.plan`: what each test needs, which cells grading runs), the checker
(:mod:`.program`, started in its own sandbox by :mod:`.session`), the rebuilding of models
(:mod:`.rebuild`), the decoding of evidence (:mod:`.decode`) and :func:`.scoring.score_test`.
"""
