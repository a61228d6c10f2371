"""Benchmarks for intake-side code paths, each measuring its own baseline in the same run.

Run all with ``python -m bench`` or one with ``python -m bench fingerprint|nearindex|prepare``. Results are
recorded in BENCHMARKS.md. Sections that need ``../shared/data/photos`` print a reason and skip when it is
absent. Timings are wall-clock medians; nothing here is asserted — unit tests never time anything.
"""
