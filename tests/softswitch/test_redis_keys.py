"""The cross-process Redis keys are spelled once (softswitch/redis_keys.py, ADR 0003)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEY_LITERAL = re.compile(r"""["']vosadmin:(bl|capacity|billing|gateway|security)\b""")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_key_module_imports_neither_asyncio_nor_django() -> None:
    roots = {name.split(".")[0] for name in imported_modules(ROOT / "softswitch/redis_keys.py")}
    assert roots <= {"__future__", "math"}


def test_no_other_module_spells_a_shared_key() -> None:
    spelled = [
        str(path.relative_to(ROOT))
        for folder in ("softswitch", "blacklist", "billing", "vosadmin", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "redis_keys.py"
        and any(KEY_LITERAL.search(line) for line in path.read_text().splitlines())
    ]
    assert spelled == []


def test_the_console_learns_no_key_from_the_engine() -> None:
    console = [
        path
        for folder in ("vosadmin", "blacklist", "billing")
        for path in (ROOT / folder).rglob("*.py")
    ] + list((ROOT / "softswitch").glob("*.py"))
    importers = [
        str(path.relative_to(ROOT))
        for path in console
        if any(name.startswith("softswitch.engine") for name in imported_modules(path))
        and path.parent.name != "commands"
    ]
    assert importers == []
