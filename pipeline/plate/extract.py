"""OCR lines → nameplate fields, deterministically (pure; table-tested in tests/pipeline/test_plate_extract.py).

Identifiers are taken from labels first, in the languages plates use (S/N, SER NO, Fabrikations-Nr, TYPE, Typ,
MOD, 型号, CAT NO, P/N, Sach-Nr, Inv.-Nr …). A label's value is the rest of its own text box, else the nearest
box to its right on the same row, else the nearest box below it; it is cut at the next label. A serial needs at
least two digits (so "Series: A" or an empty "TYPE" yield nothing). Without a labelled serial, the longest
stand-alone, mostly-digit token of eight or more characters is taken (serials printed under a barcode).

Ratings come from unit patterns (kW/HP/CV, V, A, Hz, rpm or 1/min, IP code), from label-first forms
("VOLTS 208-230/460", "RPM 1780") and from unit headers whose number sits in the neighbouring box. Display codes
are fault-code shapes (F004, E.OC, Err 12, ALARM 1023) and the large digits of a 7-segment display.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence

from pipeline.plate.brands import BRANDS
from pipeline.plate.normal import edit_distance, norm
from pipeline.plate.types import Labelled, OcrLine, PlateFields

_B = r"(?<![A-Za-z0-9])"  # label starts at a word boundary
_E = r"(?![A-Za-z])\s*[:：.#=]?\s*"  # … and is not the start of a longer word

_LABELS: dict[str, str] = {
    "serial_number": (
        r"S\s*/\s*N[O0]?|SER(?:IAL)?\.?\s*(?:N[O0]|NUMBER|N°|#)\.?|SERIAL|SN(?=\s*[:：.#])|"
        r"Fabr(?:ikations)?\.?\s*-?\s*Nr|Masch(?:inen)?\.?\s*-?\s*Nr|Serien-?Nr|序列号|出厂编号|编号"
    ),
    "model": r"MODEL\s*N[O0]\.?|MODEL|MOD\.?|TYPE|TYP\.?|型号|规格型号|Model",
    "catalogue": r"CAT\.?\s*N[O0]|P\s*/\s*N|PART\s*N[O0]|Sach\.?\s*-?\s*Nr|Art\.?\s*-?\s*Nr|ID\s*-?\s*Nr",
    "asset_tag": r"Inv\.?\s*-?\s*Nr",
    "manufacturer": r"MANUFACTURER|MFR|MFG|Hersteller|制造商|生产厂家?",
}
_LABEL_RE = re.compile(
    "|".join(f"(?P<{name}>{_B}(?:{pattern}){_E})" for name, pattern in _LABELS.items()), re.IGNORECASE
)

_NUM = r"\d+(?:[.,]\d+)?"
_RANGE = rf"{_NUM}(?:\s*[-/~]\s*{_NUM})*"
_RATINGS: list[tuple[str, re.Pattern[str], str]] = [
    ("power", re.compile(rf"({_NUM})\s*(kW|HP|CV|PS)(?![A-Za-z])", re.IGNORECASE), ""),
    ("voltage", re.compile(rf"({_RANGE})\s*(V(?:AC|DC)?|VOLTS?|AC|DC)(?![A-Za-z])", re.IGNORECASE), "V"),
    ("current", re.compile(rf"({_RANGE})\s*(A|AMPS?)(?![A-Za-z])"), "A"),
    ("frequency", re.compile(rf"({_NUM}(?:\s*(?:Hz)?\s*/\s*{_NUM})*)\s*(Hz)(?![A-Za-z])", re.IGNORECASE), "Hz"),
    ("speed", re.compile(rf"({_RANGE})\s*(rpm|r/min|1/min|min-1|min⁻¹)", re.IGNORECASE), "rpm"),
]
_LB = r"(?<![\d.,]\s)(?<![\d.,A-Za-z])"  # a label-first unit is not itself the unit of a number before it
_LABEL_FIRST: list[tuple[str, re.Pattern[str], str]] = [
    ("voltage", re.compile(rf"{_LB}(?:VOLTS?|VOLTAGE|Spannung|电压)\s*[:：]?\s*({_RANGE})", re.IGNORECASE), "V"),
    ("current", re.compile(rf"{_LB}(?:AMPS?|FLA|Strom|电流)\s*[:：]?\s*({_RANGE})", re.IGNORECASE), "A"),
    ("speed", re.compile(rf"{_LB}(?:RPM|Drehzahl|转速)\s*[:：]?\s*({_RANGE})", re.IGNORECASE), "rpm"),
    (
        "power",
        re.compile(rf"{_LB}(?:HP|KW|Leistung|功率)\s*[:：]?\s*({_NUM})(?![\d.,]|\s*[A-Za-z])", re.IGNORECASE),
        "",
    ),
    (
        "frequency",
        re.compile(rf"{_LB}(?:HZ|Frequenz|频率)\s*[:：]?\s*({_RANGE})(?![\d.,]|\s*[A-Za-z])", re.IGNORECASE),
        "Hz",
    ),
]
_IP = re.compile(r"(?<![A-Za-z])IP\s?(\d{2})(?!\d)")
_UNIT_HEADER = re.compile(r"^\s*(kW|HP|KW\s*\(HP\)|V|A|Hz|rpm|r/min|1/min)\b[^0-9]*$", re.IGNORECASE)
_UNIT_KIND = {"kw": "power", "hp": "power", "v": "voltage", "a": "current", "hz": "frequency", "rpm": "speed"}
_BARE_NUMBER = re.compile(rf"^\s*({_NUM})\s*$")
_CODE = re.compile(
    r"^\s*((?:F|E|Er|Err|ERR|AL|ALM|OC|OV|UV|LV|OL|OH|GF)\s?[-.]?\s?\d{1,4}"
    r"|(?:OC|OV|OL|OH|LU|OU|GF)[A-Z0-9]{0,2})\s*$"
)
_ALARM = re.compile(r"(?:ALARM|FAULT|ERROR|Störung|Fehler|故障|报警)\s*(?:CODE)?\s*[:#]?\s*([A-Z]{0,3}-?\d{1,5})", re.I)
_MAX_VALUE = 40


def extract(lines: Sequence[OcrLine]) -> PlateFields:
    rows = sorted(lines, key=lambda line: (line.top, line.left))
    labelled = _labelled_values(rows)
    serial = labelled.get("serial_number")
    model = labelled.get("model")
    maker = labelled.get("manufacturer")
    catalogue = labelled.get("catalogue")
    asset = labelled.get("asset_tag")
    manufacturer = _brand(rows) or (maker.value if maker else None)
    taken = {norm(x.value) for x in (model, catalogue, asset) if x is not None}
    barcode = None if serial is not None else _barcode_serial(rows, taken)
    return PlateFields(
        manufacturer=manufacturer,
        model=model.value if model else None,
        serial=serial.value if serial else barcode,
        catalogue=catalogue.value if catalogue else None,
        asset_tag=asset.value if asset else None,
        ratings=_ratings(rows),
        codes=_codes(rows),
        labelled={k: v for k, v in labelled.items() if k in {"serial_number", "model", "manufacturer"}},
    )


# ---- identifiers behind labels ----------------------------------------------------------------------------


def _labelled_values(rows: list[OcrLine]) -> dict[str, Labelled]:
    found: dict[str, Labelled] = {}
    for line in rows:
        matches = list(_LABEL_RE.finditer(line.text))
        for index, match in enumerate(matches):
            field = match.lastgroup
            assert field is not None
            if field in found:
                continue
            end = matches[index + 1].start() if index + 1 < len(matches) else len(line.text)
            raw = line.text[match.end() : end]
            score = line.score
            if not raw.strip(" :：.-#"):
                neighbour = _right_of(line, rows) or _below(line, rows)
                if neighbour is None:
                    continue
                raw, score = _cut_at_label(neighbour.text), min(score, neighbour.score)
            value = _clean(field, raw)
            if value is not None:
                found[field] = Labelled(value, match.group(0).strip(" :：.#="), round(score, 4))
    return found


def _cut_at_label(text: str) -> str:
    match = _LABEL_RE.search(text)
    return text[: match.start()] if match else text


def _clean(field: str, raw: str) -> str | None:
    value = raw.strip(" :：.,;#=-_|")
    if not value or len(value) > 3 * _MAX_VALUE:
        return None
    tokens = value.split()
    if field == "serial_number":
        for index, token in enumerate(tokens[:2]):
            token = token.strip(".,;:")
            if sum(c.isdigit() for c in token) >= 2 and len(token) >= 4:
                # "8046 2231": digit groups that follow belong to the same serial
                groups = [token]
                for more in tokens[index + 1 :]:
                    if not more.isdigit():
                        break
                    groups.append(more)
                return " ".join(groups)[:_MAX_VALUE]
        return None
    if field in {"model", "catalogue", "asset_tag"}:
        value = " ".join(tokens[:3])
        if len(norm(value)) < 2 or not any(c.isdigit() for c in value):
            return None
        return value[:_MAX_VALUE]
    return value[:_MAX_VALUE] if any(c.isalpha() for c in value) else None


def _same_row(a: OcrLine, b: OcrLine) -> bool:
    overlap = min(a.bottom, b.bottom) - max(a.top, b.top)
    return overlap >= 0.5 * min(a.height, b.height)


def _right_of(line: OcrLine, rows: list[OcrLine]) -> OcrLine | None:
    candidates = [r for r in rows if r is not line and _same_row(line, r) and r.left >= line.right - line.height]
    candidates = [r for r in candidates if r.left - line.right <= 12 * line.height]
    return min(candidates, key=lambda r: r.left - line.right, default=None)


def _below(line: OcrLine, rows: list[OcrLine]) -> OcrLine | None:
    def overlaps(r: OcrLine) -> bool:
        return min(r.right, line.right) - max(r.left, line.left) > 0

    candidates = [
        r
        for r in rows
        if r is not line and overlaps(r) and r.middle > line.bottom - 0.3 * line.height
        and r.top - line.bottom <= 2 * line.height
    ]  # fmt: skip
    return min(candidates, key=lambda r: (r.top, r.left), default=None)


def _barcode_serial(rows: list[OcrLine], taken: set[str]) -> str | None:
    best: str | None = None
    for line in rows:
        token = line.text.strip()
        if " " in token or len(token) < 8 or norm(token) in taken or line.score < 0.8:
            continue
        if not re.fullmatch(r"[A-Za-z0-9-]+", token):
            continue
        digits = sum(c.isdigit() for c in token)
        if digits / len(token) >= 0.6 and (best is None or len(token) > len(best)):
            best = token
    return best


# ---- manufacturer -----------------------------------------------------------------------------------------


def _brand(rows: list[OcrLine]) -> str | None:
    for line in rows:
        folded = norm(line.text)
        words = [norm(w) for w in re.split(r"[\s,;:/()]+", line.text) if w]
        for name, aliases in BRANDS.items():
            for alias in aliases:
                key = norm(alias)
                if not key:
                    continue
                if (len(key) >= 4 or not key.isascii()) and key in folded:
                    return name
                if key in words:
                    return name
                if len(key) >= 5 and any(abs(len(w) - len(key)) <= 1 and edit_distance(w, key) <= 1 for w in words):
                    return name
    return None


# ---- ratings ----------------------------------------------------------------------------------------------


def _ratings(rows: list[OcrLine]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}

    def add(kind: str, value: str) -> None:
        value = " ".join(value.split())
        if value not in found.setdefault(kind, []):
            found[kind].append(value)

    for line in rows:
        text = line.text
        for kind, pattern, unit in _RATINGS:
            for match in pattern.finditer(text):
                number = re.sub(r"(?i)\s|hz", "", match.group(1))
                suffix = unit or _power_unit(match.group(2))
                if kind == "voltage" and match.group(2).upper() in {"AC", "DC"}:
                    suffix = f"V {match.group(2).upper()}"
                add(kind, f"{number} {suffix}")
        for kind, pattern, unit in _LABEL_FIRST:
            for match in pattern.finditer(text):
                label = match.group(0)[:2].upper()
                add(kind, f"{match.group(1).replace(' ', '')} {unit or ('HP' if label == 'HP' else 'kW')}")
        for match in _IP.finditer(text):
            add("protection", f"IP{match.group(1)}")
        header = _UNIT_HEADER.match(text)
        if header:
            neighbour = _number_beside(line, rows)
            if neighbour is not None:
                unit_word = header.group(1).lower().replace(" ", "")
                key = "kw" if unit_word.startswith("kw") else ("rpm" if "min" in unit_word else unit_word)
                unit = {"kw": "kW", "hp": "HP", "v": "V", "a": "A", "hz": "Hz", "rpm": "rpm"}[key]
                add(_UNIT_KIND[key], f"{neighbour} {unit}")
    return found


def _power_unit(raw: str) -> str:
    upper = raw.upper()
    return "kW" if upper == "KW" else upper


def _number_beside(line: OcrLine, rows: list[OcrLine]) -> str | None:
    candidates = []
    for other in rows:
        if other is line or not _same_row(line, other):
            continue
        match = _BARE_NUMBER.match(other.text)
        if match:
            gap = other.left - line.right if other.left >= line.right else line.left - other.right
            if gap <= 6 * line.height:
                candidates.append((gap, match.group(1)))
    return min(candidates)[1] if candidates else None


# ---- display codes ----------------------------------------------------------------------------------------


def _codes(rows: list[OcrLine]) -> tuple[str, ...]:
    codes: list[str] = []
    heights = [line.height for line in rows]
    median = statistics.median(heights) if heights else 0.0
    for line in rows:
        text = line.text.strip()
        if _CODE.match(text):
            codes.append(text)
            continue
        for match in _ALARM.finditer(text):
            codes.append(match.group(1))
        compact = text.replace(" ", "")
        big = len(rows) > 1 and line.height >= 2.0 * median
        if big and 2 <= len(compact) <= 6 and compact.isalnum() and sum(c.isdigit() for c in compact) >= 2:
            codes.append(compact)
    return tuple(dict.fromkeys(codes))


def without_plate_wording(text: str) -> str:
    """The text less its labels ("S/N", "TYPE"), ratings ("7.5 kW", "400 V") and IP code (pure): what is left
    names a unit (maker, model, serial) or is something else, such as a display's reading."""
    text = _LABEL_RE.sub(" ", text)
    for _, pattern, _ in _RATINGS:
        text = pattern.sub(" ", text)
    return _PLATE_WORDING.sub(" ", _IP.sub(" ", text))


# other things a motor's plate prints: power factor, standard, weight, insulation class, duty, efficiency class
_PLATE_WORDING = re.compile(
    rf"cos\s*[φϕΦ]?\s*[:=]?\s*{_NUM}|\bIEC\s*[\d-]+|{_NUM}\s*kg\b|\b(?:Th|Iso|Isol)\.?\s*(?:Cl|Kl)\.?\s*[A-H]\b"
    rf"|\b(?:S[1-9]|IE[1-5])\b|\b(?:3|1)\s*~",
    re.IGNORECASE,
)
