"""``plc-copilot read PHOTO... [--json]``: what the nameplate reader finds, without a model or the database.

For admins checking the reader on their own photos: the fields (maker, model, serial, ratings, codes) and every
text box with its recognition score, as a table or as JSON (one object per photo).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports this module at start; the pipeline only loads when ``read`` runs
    from bot.runtime.settings import AppSettings
    from pipeline.plate import PlateReading


def add_read_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--json", action="store_true", help="one JSON object per photo instead of a table")


def read_command(settings: AppSettings, args: argparse.Namespace) -> int:
    from pipeline import IntakeError
    from pipeline.intake import load_photo
    from pipeline.plate import PlateReader

    config = settings.pipeline
    reader = PlateReader(max_side=config.plate_reader_max_side, threads=config.plate_reader_threads)
    results: list[dict[str, Any]] = []
    exit_code = 0
    for path in args.photos:
        try:
            photo = load_photo(path.read_bytes(), max_bytes=config.max_photo_bytes, max_pixels=config.max_pixels)
        except OSError as exc:
            print(f"cannot read {path}: {exc.strerror}", file=sys.stderr)
            exit_code = 1
            continue
        except IntakeError as exc:
            print(f"{path}: {exc.user_message}", file=sys.stderr)
            exit_code = 1
            continue
        reading = reader.read_sync(photo.image)
        if args.json:
            results.append({"photo": str(path), **reading.to_json()})
        else:
            print(_table(path, reading))
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return exit_code


def _table(path: Path, reading: PlateReading) -> str:
    fields = reading.fields
    out = [f"== {path}  ({len(reading.lines)} text lines, {reading.duration_ms} ms)"]
    for name, value in (
        ("manufacturer", fields.manufacturer),
        ("model", fields.model),
        ("serial", fields.serial),
        ("catalogue", fields.catalogue),
        ("asset tag", fields.asset_tag),
    ):
        if value:
            label = fields.labelled.get("serial_number" if name == "serial" else name)
            out.append(f"  {name:<12} {value}" + (f"   (after label {label.label!r})" if label else ""))
    for kind, values in fields.ratings.items():
        out.append(f"  {kind:<12} {', '.join(values)}")
    if fields.codes:
        out.append(f"  {'codes':<12} {', '.join(fields.codes)}")
    if fields.empty:
        out.append("  (no nameplate fields found)")
    out.append("  text:")
    out.extend(f"    {line.score:4.2f}  {line.text}" for line in reading.lines)
    return "\n".join(out)
