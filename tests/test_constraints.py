"""constraints.txt, which `make run` and `make test` install from, is current with
pyproject.toml: every dependency it asks for is pinned there, to a version it allows (a
dependency added without `make lock` would otherwise be installed at whatever is newest)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def pinned() -> dict[str, str]:
    """The lock's `name==version` lines, by canonical name."""
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pairs = (line.split("==", 1) for line in lines if line and not line.startswith("#"))
    return {canonicalize_name(name): version for name, version in pairs}


def required() -> list[Requirement]:
    """What pyproject.toml asks for, with every extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        texts += extra
    return [Requirement(text) for text in texts]


def test_every_dependency_is_pinned_to_a_version_it_allows() -> None:
    versions = pinned()
    stale = [
        str(requirement)
        for requirement in required()
        if versions.get(canonicalize_name(requirement.name)) not in requirement.specifier
    ]
    assert stale == [], "run `make lock` (and `make test`) after changing pyproject.toml"
