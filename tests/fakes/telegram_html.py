"""Telegram's HTML parse mode as the fake Bot API checks it: only the tags Telegram allows, properly nested
and closed, entities valid. Deliberately a little stricter than Telegram: a bare ``&``, ``<`` or ``>`` outside a
tag is refused, so an unescaped user string fails in tests before it fails in production.

Nesting follows the Bot API's rules for entities: bold, italic, underline, strikethrough and spoiler can
contain and be part of anything except ``pre`` and ``code`` (``code`` directly in ``pre`` names a language);
blockquotes do not nest; links, code and custom emoji never contain each other. A link needs an ``href``.
Length is checked by the caller (``telegram.py``) on the plain text this returns, in UTF-16 code units."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# fmt: off
_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre",
    "blockquote", "tg-emoji",
})
# fmt: on
_VERBATIM = frozenset({"pre", "code"})  # contain no other entity (except code in pre)
_EXCLUSIVE = frozenset({"a", "code", "pre", "tg-emoji"})  # never contain each other
_BARE_AMP = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.plain: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS or (tag == "span" and dict(attrs).get("class") != "tg-spoiler"):
            raise ValueError(f'Unsupported start tag "{tag}"')
        if tag == "a" and not dict(attrs).get("href"):
            raise ValueError('Can\'t find "href" attribute of the "a" tag')
        language = tag == "code" and self.open[-1:] == ["pre"]  # <pre><code class="language-…">
        verbatim = [t for t in self.open if t in _VERBATIM]
        if verbatim and not language:
            raise ValueError(f'Entity "{tag}" can\'t be nested in "{verbatim[-1]}"')
        if tag == "blockquote" and "blockquote" in self.open:
            raise ValueError('Entity "blockquote" can\'t be nested')
        if tag in _EXCLUSIVE and not language and any(t in _EXCLUSIVE for t in self.open):
            raise ValueError(f'Entity "{tag}" can\'t be nested in another link, code or emoji entity')
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise ValueError(f'Unsupported start tag "{tag}/"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise ValueError(
                f'Can\'t find end tag corresponding to start tag "{self.open[-1]}"'
                if self.open
                else f'Unexpected end tag "{tag}"'
            )
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            raise ValueError("Unescaped '<' or '>' in text")
        self.plain.append(data)

    def handle_entityref(self, name: str) -> None:
        self.plain.append(_NAMED[name])  # _BARE_AMP already rejected any other name

    def handle_charref(self, name: str) -> None:
        self.plain.append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))

    def unknown_decl(self, data: str) -> None:
        raise ValueError("Unsupported declaration")

    handle_comment = handle_decl = handle_pi = unknown_decl


def plain_text(text: str) -> str:
    """Plain text of Telegram HTML; ValueError (Telegram's wording) when Telegram would refuse it."""
    if _BARE_AMP.search(text):
        raise ValueError("Unescaped '&' (use &amp;)")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise ValueError(f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"')
    return "".join(parser.plain)
