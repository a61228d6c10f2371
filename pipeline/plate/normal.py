"""Comparing what a model claims with what OCR read: normalisation and one-edit alignment (pure).

OCR and models disagree on case, spacing, punctuation and on glyphs that look alike on a stamped plate, so both
sides are folded before comparing: upper case, only letters and digits, O→0, I/L→1, the multiplication sign →X.
Each normalised character remembers where it came from, so a near match can show the plate's own spelling.
"""

from __future__ import annotations

from dataclasses import dataclass

_FOLD = str.maketrans({"O": "0", "I": "1", "L": "1", "×": "X", "Ｘ": "X"})


@dataclass(frozen=True)
class Folded:
    text: str
    origin: tuple[int, ...]  # index in the source string of each folded character


def fold(source: str) -> Folded:
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(source):
        upper = char.upper().translate(_FOLD)
        if upper.isalnum():
            chars.append(upper)
            origin.append(index)
    return Folded("".join(chars), tuple(origin))


def norm(source: str) -> str:
    return fold(source).text


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def edit_ratio(a: str, b: str) -> float:
    """0 for equal strings, 1 for nothing in common."""
    if not a and not b:
        return 0.0
    return edit_distance(a, b) / max(len(a), len(b))


@dataclass(frozen=True)
class OneEdit:
    """Where a claimed value and a stretch of plate text differ by one character.

    ``position`` is 1-based in the claimed value as the model wrote it; ``claimed``/``plate`` are the two
    characters ("" for a missing one); ``plate_text`` is the plate's own spelling of the stretch.
    """

    position: int
    claimed: str
    plate: str
    plate_text: str


def contains(claimed: str, haystack: str) -> bool:
    """``claimed`` appears in ``haystack`` after folding, as whole words: "1402/12" is not in "1402/1234567"
    (a truncated serial must not be confirmed), "UD 1402 1234567" is in "S/N UD-1402/1234567"."""
    key, h = norm(claimed), fold(haystack)
    if not key:
        return False
    start = h.text.find(key)
    while start != -1:
        if _aligned(haystack, h, start, len(key)):
            return True
        start = h.text.find(key, start + 1)
    return False


def _aligned(haystack: str, h: Folded, start: int, width: int) -> bool:
    first, last = h.origin[start], h.origin[start + width - 1]
    before = haystack[first - 1] if first > 0 else " "
    after = haystack[last + 1] if last + 1 < len(haystack) else " "
    return not (_joins(before, haystack[first]) or _joins(haystack[last], after))


def _joins(a: str, b: str) -> bool:
    """Two adjacent characters of one word (a letter or digit next to a letter or digit)."""
    return a.isalnum() and b.isalnum()


def one_edit(claimed: str, haystack: str) -> OneEdit | None:
    """The first stretch of ``haystack`` one substitution, insertion or deletion away from ``claimed``
    (None when the claim is there as it is)."""
    c, h = fold(claimed), fold(haystack)
    n = len(c.text)
    if n == 0 or contains(claimed, haystack):
        return None
    # Whole words first: "S/N 1402/1234567-001" against "1402/1234567-00" is one missing "1" at the end, not
    # one extra "N" in front.
    candidates = [(w, s) for w in (n, n + 1, n - 1) if w > 0 for s in range(0, len(h.text) - w + 1)]
    aligned = [(w, s) for w, s in candidates if _aligned(haystack, h, s, w)]
    for rank, (width, start) in enumerate(aligned + candidates):
        window = h.text[start : start + width]
        diff = _single_difference(c.text, window)
        if diff is None:
            continue
        index, claimed_char, plate_char = diff
        if rank >= len(aligned) and index in (0, n - 1, n):
            continue  # inside a longer word, a difference at the edge is only the neighbouring character
        first = h.origin[start]
        last = h.origin[start + width - 1]
        position = c.origin[index] + 1 if index < n else len(claimed) + 1
        return OneEdit(
            position=position,
            claimed=claimed[position - 1] if claimed_char else "",
            plate=plate_char,
            plate_text=haystack[first : last + 1],
        )
    return None


def _single_difference(a: str, b: str) -> tuple[int, str, str] | None:
    """(index in a, a's char or "", b's char or "") when a and b differ by exactly one edit."""
    if a == b:
        return None
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return (diffs[0], a[diffs[0]], b[diffs[0]]) if len(diffs) == 1 else None
    if len(a) == len(b) + 1:  # the claim has one character the plate lacks
        for i in range(len(a)):
            if a[:i] + a[i + 1 :] == b:
                return (i, a[i], "")
        return None
    if len(b) == len(a) + 1:  # the plate has one character the claim lacks
        for i in range(len(b)):
            if b[:i] + b[i + 1 :] == a:
                return (i, "", b[i])
    return None
