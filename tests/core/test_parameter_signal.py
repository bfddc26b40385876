"""A parameter change is announced (`parameter_changed`), and what acts on parameters
subscribes to it: the registry knows none of its subscribers (issue 13 item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vosadmin.core.parameters import parameter_changed, update_parameter

REGISTRY = Path(__file__).resolve().parents[2] / "vosadmin" / "core" / "parameters"


@pytest.fixture
def announced():
    heard: list[tuple[str, object, object]] = []

    def receiver(sender: object, name: str, old: object, new: object, **kwargs: object) -> None:
        heard.append((name, old, new))

    parameter_changed.connect(receiver)
    yield heard
    parameter_changed.disconnect(receiver)


@pytest.mark.django_db
def test_a_change_is_announced_once_with_its_values(announced) -> None:
    update_parameter("SS_ENDPOINT_EXPIRE", 1800)
    update_parameter("SS_ENDPOINT_EXPIRE", 1800)  # unchanged: nothing to announce
    assert announced == [("SS_ENDPOINT_EXPIRE", 3600, 1800)]


def test_the_registry_imports_none_of_its_subscribers() -> None:
    sources = " ".join(path.read_text() for path in REGISTRY.glob("*.py"))
    assert "core.schedules" not in sources
