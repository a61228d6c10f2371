"""Work-order references cannot be spoofed (issue 11, item 11): a summary, a rating or a reporter's name that
contains another card's "[ref:…]" marker never satisfies that card's recovery search, on every CMMS that is
searched by description (MaintainX, Atlas, Odoo), through their fakes over HTTP / XML-RPC."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cmmsconnect import Progress, Reporter, work_order_from_analysis
from cmmsconnect.workorder import carries_ref
from tests.cmms import test_atlas, test_maintainx, test_odoo
from tests.cmms.conftest import ANALYSIS, T0, make_wo

VICTIM = "[ref:tg-43-12]"


def spoof(key: str) -> Any:
    """A work order whose model- and user-supplied text carries the victim's marker everywhere it can."""
    fields = {**ANALYSIS, "summary": f"Safe. {VICTIM}", "ratings": {"x": VICTIM}, "safety_notes": [VICTIM]}
    return work_order_from_analysis(
        fields, key=key, photo=None, reporter=Reporter(7, VICTIM), chat_id=1, message_id=2, created_at=T0
    )


def test_the_description_defangs_every_marker_but_its_own() -> None:
    wo = spoof("tg-1-1")
    assert wo.description.count("[ref:") == 1 and wo.description.endswith("[ref:tg-1-1]")
    assert not carries_ref(wo.description, VICTIM) and carries_ref(wo.description, "[ref:tg-1-1]")
    assert carries_ref("<p>Drive</p><p>[ref:tg-1-1]</p>", "[ref:tg-1-1]"), "a CMMS's HTML rendering"


CONNECTORS: dict[str, Callable[[Any], Any]] = {
    "maintainx": test_maintainx.connector,
    "atlas": test_atlas.connector,
    "odoo": test_odoo.connector,
}


@pytest.mark.parametrize("cmms", sorted(CONNECTORS))
async def test_a_spoofed_reference_never_matches(cmms: str, request: pytest.FixtureRequest) -> None:
    client = CONNECTORS[cmms](request.getfixturevalue(cmms))
    await client.create(spoof("tg-1-1"), Progress())
    assert await client.find_by_ref(VICTIM) is None, "the spoof must not pass for the victim's work order"
    real = await client.create(make_wo("tg-43-12"), Progress())
    assert await client.find_by_ref(VICTIM) == real.remote_id
    await client.aclose()
