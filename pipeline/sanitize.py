"""Text from outside (a model's reply, a technician's caption) made safe to show and to quote.

Two dangers, both invisible in a chat client: control characters (NUL, escape sequences, C1 controls) that
break logs, terminals and some CMMS APIs, and bidirectional overrides (U+202E RIGHT-TO-LEFT OVERRIDE and
friends) that make "F004 safe" display as something else, the "Trojan Source" trick. Both are removed;
tabs and odd line separators become plain spaces and newlines. Nothing else is changed: escaping for HTML
or JSON is the job of whoever renders the text.
"""

from __future__ import annotations

import re
import unicodedata

# Bidi embeddings/overrides/isolates and marks, zero-width joiners that can hide text, the BOM.
_INVISIBLE = "\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
_LINE_BREAKS = re.compile(r"\r\n|[\r\u0085\u2028\u2029\x0b\x0c]")
_SPACES = re.compile(r"[ \t]+")


def clean_text(text: str, *, multiline: bool = True) -> str:
    """``text`` without control or bidi-override characters; single-line unless ``multiline``."""
    text = _LINE_BREAKS.sub("\n", text).replace("\t", " ")
    kept = [ch for ch in text if ch == "\n" or (ch not in _INVISIBLE and unicodedata.category(ch) not in {"Cc", "Cs"})]
    text = "".join(kept)
    if not multiline:
        text = text.replace("\n", " ")
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def clip(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """At most ``limit`` characters, cut at a word boundary when one is near, marked with ``ellipsis``."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(ellipsis))]
    space = cut.rfind(" ")
    if space >= len(cut) * 3 // 4:
        cut = cut[:space]
    return cut.rstrip() + ellipsis
