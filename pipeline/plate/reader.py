"""The plate reader: one local OCR engine (rapidocr, PP-OCRv6 small ONNX models shipped in its wheel).

Why this engine: on 21 real plate photos it read 8 of 13 serials exactly where PP-OCRv4 read 4 and tesseract 0,
in ~0.9 s per Telegram-size photo (shared/notes/OCR-FACTS.md). Its models are the files inside the installed
wheel, named here by path, so rapidocr's own downloader is never reached: nothing is fetched at run time, and a
missing file is a ``PlateReaderUnavailable`` rather than a network call.

Memory bound: one engine per process (models ~32 MB on disk, ~350–400 MB RSS once loaded, 500–600 MB peak per
photo), photos shrunk to ``max_side`` before reading, and a semaphore so at most ``concurrency`` photos are read
at once. The OCR runs in a worker thread (onnxruntime releases the GIL), so the event loop keeps serving chats.
The models load on first use (~2 s), not at start-up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pipeline.plate.extract import extract
from pipeline.plate.orientation import page_angle, upright
from pipeline.plate.types import OcrLine, PlateFields, PlateReading

log = logging.getLogger(__name__)

_MODELS = {
    "Det.model_path": "PP-OCRv6_det_small.onnx",
    "Rec.model_path": "PP-OCRv6_rec_small.onnx",
    "Cls.model_path": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}
# Boxes below this recognition score are noise (texture read as letters); rapidocr's own default is 0.5.
MIN_SCORE = 0.5


class PlateReaderUnavailable(RuntimeError):
    """The OCR package or its shipped model files are missing."""


class PlateReader:
    def __init__(self, *, max_side: int = 1280, threads: int = 1, concurrency: int = 1) -> None:
        self.max_side = max_side
        self.threads = threads
        self._engine: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Semaphore(concurrency)  # the memory bound, also for callers in threads
        self._slots = asyncio.Semaphore(concurrency)  # waiters queue here instead of each holding a thread

    async def read(self, image: Image.Image) -> PlateReading:
        """Read one photo in a worker thread; at most ``concurrency`` at once."""
        async with self._slots:
            return await asyncio.to_thread(self.read_sync, image)

    def read_sync(self, image: Image.Image) -> PlateReading:
        started = time.perf_counter()
        engine = self._load()
        scaled, factor = _shrink(image, self.max_side)
        pixels = np.asarray(scaled.convert("RGB"))[:, :, ::-1]  # OpenCV order (BGR)
        with self._run_lock:
            output, labels = _run(engine, pixels)
        lines = _lines(output, factor)
        angle = page_angle(lines, labels)
        took = int((time.perf_counter() - started) * 1000)
        return PlateReading(lines, extract(upright(lines, angle)), took, angle)

    def warm_up(self) -> None:
        """Load the models now (the CLI and benchmarks, so the first photo's time is not the load time)."""
        self._load()

    def _load(self) -> Any:
        if self._engine is not None:
            return self._engine
        with self._load_lock:
            if self._engine is None:
                self._engine = _build_engine(self.threads)
        return self._engine


def _run(engine: Any, pixels: np.ndarray) -> tuple[Any, list[tuple[str, float]]]:
    """``engine(pixels)`` step by step, keeping the direction classifier's label of each box that has text.

    The engine's output drops those labels; ``page_angle`` needs them. These are the steps of
    ``RapidOCR.__call__`` in the pinned rapidocr (3.10); ``test_plate_reader`` reads turned plates through here,
    so a change in the engine's steps fails a test rather than silently losing the orientation.
    """
    original = engine.load_img(pixels)
    image, record = engine.preprocess_img(original)
    det, cls, rec, crops = engine.run_ocr_steps(image, record)
    texts = list(rec.txts or ())
    found = list(cls.cls_res or ()) if cls.cls_res is not None else []
    labels = [(str(found[i][0]), float(found[i][1])) if i < len(found) else ("0", 0.0) for i in range(len(texts))]
    kept = [label for text, label in zip(texts, labels, strict=True) if str(text).strip()]
    output = engine.build_final_output(original, det, cls, rec, crops, record)
    return output, kept


def _build_engine(threads: int) -> Any:
    try:
        import rapidocr
    except ImportError as exc:  # pragma: no cover - a broken install
        raise PlateReaderUnavailable(f"rapidocr is not installed: {exc}") from exc
    root = Path(rapidocr.__file__).resolve().parent / "models"
    params: dict[str, Any] = {"Global.log_level": "warning", "Global.text_score": MIN_SCORE}
    for key, name in _MODELS.items():
        path = root / name
        if not path.is_file():
            raise PlateReaderUnavailable(f"OCR model file missing: {path}")
        params[key] = str(path)
    params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
    params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
    started = time.perf_counter()
    engine = rapidocr.RapidOCR(params=params)
    log.info("plate reader ready (%d thread(s), %.1f s)", threads, time.perf_counter() - started)
    return engine


def _shrink(image: Image.Image, max_side: int) -> tuple[Image.Image, float]:
    long_side = max(image.size)
    if long_side <= max_side:
        return image, 1.0
    factor = max_side / long_side
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS), factor


def _lines(output: Any, factor: float) -> tuple[OcrLine, ...]:
    boxes, texts, scores = (
        getattr(output, "boxes", None),
        getattr(output, "txts", None),
        getattr(output, "scores", None),
    )
    if boxes is None or texts is None or scores is None:
        return ()
    lines: list[OcrLine] = []
    for box, text, score in zip(boxes, texts, scores, strict=True):
        if not str(text).strip():
            continue
        corners = tuple((float(x) / factor, float(y) / factor) for x, y in box.tolist())
        lines.append(OcrLine(str(text).strip(), float(score), corners))  # type: ignore[arg-type]
    return tuple(lines)


EMPTY = PlateReading((), PlateFields())

_shared: dict[tuple[int, int, int], PlateReader] = {}
_shared_lock = threading.Lock()


def shared_reader(*, max_side: int = 1280, threads: int = 1, concurrency: int = 1) -> PlateReader:
    """The process's reader for these settings: every pipeline in a process shares one engine (memory bound)."""
    key = (max_side, threads, concurrency)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = PlateReader(max_side=max_side, threads=threads, concurrency=concurrency)
        return _shared[key]
