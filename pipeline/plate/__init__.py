"""The plate reader and what it feeds: what is printed on a nameplate or display, read locally for free.

- ``reader``: one OCR engine (rapidocr, models from its wheel), run in a worker thread within a memory bound;
- ``extract``: OCR lines → manufacturer, model, serial, ratings and display codes (pure);
- ``evidence``: each field a model claims, checked against the plate (pure);
- ``register``: equipment recognised again by manufacturer + serial read on the plate.
"""

from pipeline.plate.evidence import Evidence, FieldEvidence
from pipeline.plate.extract import extract
from pipeline.plate.reader import PlateReader, PlateReaderUnavailable, shared_reader
from pipeline.plate.types import Labelled, OcrLine, PlateFields, PlateReading

__all__ = [
    "Evidence",
    "FieldEvidence",
    "Labelled",
    "OcrLine",
    "PlateFields",
    "PlateReader",
    "PlateReaderUnavailable",
    "PlateReading",
    "extract",
    "shared_reader",
]
