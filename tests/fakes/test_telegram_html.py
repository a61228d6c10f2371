"""The fake's HTML check follows the Bot API's nesting rules (so a card that Telegram would refuse fails here)."""

from __future__ import annotations

import pytest

from tests.fakes.telegram_html import plain_text


@pytest.mark.parametrize(
    "html",
    [
        "<b><i>x</i></b>",
        "<b><code>x</code></b>",
        '<pre><code class="language-py">x</code></pre>',
        '<a href="u"><b>x</b></a>',
    ],
)
def test_allowed(html: str) -> None:
    assert plain_text(html) == "x"


@pytest.mark.parametrize(
    "html",
    [
        "<code><b>x</b></code>",
        '<a href="u"><code>x</code></a>',
        "<a>x</a>",
        "<blockquote><blockquote>x</blockquote></blockquote>",
        "<code>x",
        "<b>x</i>",
    ],
)
def test_refused(html: str) -> None:
    with pytest.raises(ValueError):
        plain_text(html)
