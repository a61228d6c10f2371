"""cmmsconnect stays independent: it never imports the bot or the pipeline, and exports a small surface."""

from __future__ import annotations

import ast
from pathlib import Path

import cmmsconnect

PACKAGE = Path(cmmsconnect.__file__).parent


def test_never_imports_bot_or_pipeline() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in {"bot", "pipeline", "telegram"}]
    assert offenders == []


def test_public_api() -> None:
    assert {"WorkOrder", "work_order_from_analysis", "CmmsSettings", "build_connector", "Outbox"} <= set(
        cmmsconnect.__all__
    )
