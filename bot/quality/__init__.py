"""Quality you can measure: what technicians say about answers, and what admins learn from it.

Owns the answers shown on cards and the feedback on them (right/wrong taps, corrections by reply, re-checks that
disagree), the admins' accuracy report by tier and model (``/quality``, ``plc-copilot quality``), the evaluation
sample of real traffic and its replay (``plc-copilot eval``), the canary arm and human review of critical work
orders. Its tables: ``shown_answers``, ``feedback``. It reads the pipeline's ledger; it never writes it.
"""
