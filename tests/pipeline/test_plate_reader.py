"""The plate reader for real: the OCR engine runs on the shared photos and on plates rendered onto real photos."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest
from PIL import Image

from pipeline.plate import PlateReader, PlateReading
from pipeline.plate.normal import norm
from tests.plate import MemoReader, Plate, manifest, render, shared_photo


def image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def test_huanyang_rating_label(plate_reader: MemoReader) -> None:
    truth = manifest()["hy_vfd_label"]["ground_truth"]
    fields = plate_reader.read_sync(image(shared_photo("hy_vfd_label.jpg"))).fields
    assert fields.model == truth["model"] and fields.labelled["model"].label == "型号"
    assert fields.serial == truth["serial"], "the serial printed under the barcode, without a label"
    assert fields.manufacturer == "Huanyang", "the maker's name is printed only in Chinese"
    assert "2.2 kW" in fields.ratings["power"] and "11 A" in fields.ratings["current"]


def test_spindle_label_with_unit_headers(plate_reader: MemoReader) -> None:
    truth = manifest()["hy_spindle"]["ground_truth"]
    reading = plate_reader.read_sync(image(shared_photo("hy_spindle.jpg")))
    assert reading.fields.model is not None and norm(reading.fields.model) == norm(truth["model"])
    assert reading.fields.serial is None  # none printed
    assert reading.fields.ratings["speed"] == ["24000 rpm"] and "2.2 kW" in reading.fields.ratings["power"]
    assert all(0.5 <= line.score <= 1.0 for line in reading.lines)
    assert PlateReading.__name__ and reading.to_json()["lines"][0]["box"]


def test_drive_display_code(plate_reader: MemoReader) -> None:
    fields = plate_reader.read_sync(image(shared_photo("hy_vfd_display.jpg"))).fields
    assert any("3247" in code for code in fields.codes)
    assert fields.serial is None and fields.model is None


@pytest.mark.parametrize(
    ("plate", "serial", "model"),
    [
        (Plate(("SIEMENS", "TYPE 1LE1001-1DB23-4AA4", "S/N UD 1402/1234567-001", "7.5 kW 400 V 50 Hz")),
         "1402/1234567-001", "1LE1001-1DB23-4AA4"),
        (Plate(("ABB Motors", "Model: M3BP 160MLA 4", "Ser. No. 3GBP161410", "11 kW 690 V 1475 r/min"),
               background="defective_a_f_10.jpg", angle=4, blur=1.2), "3GBP161410", "M3BP 160MLA 4"),
        (Plate(("Fabrikations-Nr. 8046 2231", "Typ: KA77 DT100L4", "Hersteller: SEW-Eurodrive"),
               background="normal_a_g_10.jpg", contrast=0.45, angle=-3), "8046 2231", "KA77 DT100L4"),
        (Plate(("WEG", "MOD. W22 132M-4", "S/N 1019283746", "IP55 60 Hz"), scale=0.6, quality=60),
         "1019283746", "W22 132M-4"),
    ],
)  # fmt: skip
def test_rendered_plates(plate_reader: MemoReader, plate: Plate, serial: str, model: str) -> None:
    fields = plate_reader.read_sync(image(render(plate))).fields
    assert (fields.serial, fields.model) == (serial, model)


async def test_reads_in_a_worker_thread_one_photo_at_a_time(plate_reader: MemoReader) -> None:
    """Two photos at once on a reader bounded to one: the event loop keeps running, OCR never overlaps."""
    active, peak, loop_thread = 0, 0, threading.get_ident()
    lock = threading.Lock()
    threads: set[int] = set()

    class Watched(PlateReader):
        def read_sync(self, picture: Image.Image) -> PlateReading:
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
                threads.add(threading.get_ident())
            try:
                return plate_reader.read_sync(picture)  # the session's engine, one load per session
            finally:
                with lock:
                    active -= 1

    reader = Watched(concurrency=1)
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    tick_task = asyncio.create_task(ticker())
    photos = [render(Plate(("TYPE 4711", f"S/N 55{i}0123"))) for i in range(2)]
    readings = await asyncio.gather(*(reader.read(image(p)) for p in photos))
    done.set()
    await tick_task
    assert [r.fields.serial for r in readings] == ["5500123", "5510123"]
    assert peak == 1, "the memory bound: one photo in the engine at a time"
    assert loop_thread not in threads
    assert ticks >= 5, "the event loop kept serving while the photos were read"


LABEL_ABOVE_VALUE = ("ABB", "Serial number", "3GBP161410", "Type", "M3BP 160MLA 4", "11 kW 690 V")


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
def test_a_plate_photographed_sideways_or_upside_down(plate_reader: MemoReader, angle: int) -> None:
    """Labels above their values: read in the photo's own frame, a 270° photo paired "Serial number" with the
    model's value. The boxes are turned upright first (pipeline/plate/orientation.py)."""
    reading = plate_reader.read_sync(image(render(Plate(LABEL_ABOVE_VALUE, angle=angle))))
    assert reading.angle == angle
    assert (reading.fields.serial, reading.fields.model) == ("3GBP161410", "M3BP 160MLA 4")
