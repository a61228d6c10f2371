"""``python -m bench [NAME …]``: named benchmarks (all when none is named; see BENCHMARKS.md)."""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time

import numpy
import PIL

from bench import (
    bombs,
    budget_overshoot,
    crowd,
    fingerprint_speed,
    fleet,
    guard_reserve,
    nearindex_lookup,
    plate_reader,
    prepare_saving,
    workload,
)

BENCHMARKS = {
    "fingerprint": fingerprint_speed.run,
    "nearindex": nearindex_lookup.run,
    "prepare": prepare_saving.run,
    "budget": budget_overshoot.run,
    "crowd": crowd.run,
    "guard": guard_reserve.run,
    "plate": plate_reader.run,
    "fleet": fleet.run,
    "workload": workload.run,
    "bombs": bombs.run,
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}", file=sys.stderr)
        return 2
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"{now} | {os.cpu_count()} CPUs | {platform.machine()} | Python {platform.python_version()} | "
        f"Pillow {PIL.__version__} | numpy {numpy.__version__}"
    )
    started = time.perf_counter()
    for name in names:
        print(f"\n== {name} ==")
        BENCHMARKS[name]()
    print(f"\ntotal {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
