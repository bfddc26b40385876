"""Fixtures for tests that run the real SIP engine (a plugin of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from softswitch.models import Phone
from tests.engine.b2bua import B2bua
from tests.engine.harness import EngineRunner


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Mark `engine` every test that starts the real engine: `make test-workers` runs them
    with several workers."""
    for item in items:
        if "engine_factory" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.engine)


@pytest.fixture
def engine_factory(
    transactional_db: Any, redis_client: Any
) -> Iterator[Callable[..., EngineRunner]]:
    """Start engines (after the test has created its data); all are stopped at teardown, and
    one still running must stop cleanly (status 0, not a shutdown cut short)."""
    runners: list[EngineRunner] = []

    def start(**kwargs: Any) -> EngineRunner:
        runner = EngineRunner(**kwargs).start()
        runners.append(runner)
        return runner

    yield start
    for runner in runners:
        if runner.process is not None and runner.process.poll() is None:
            assert runner.stop() == 0, f"engine shutdown not clean:\n{runner.log()}"


@pytest.fixture
def engine(engine_factory: Callable[..., EngineRunner]) -> Callable[[], EngineRunner]:
    """Start the one engine of a test: `engine()` once its data exists."""
    started: list[EngineRunner] = []

    def start() -> EngineRunner:
        if not started:
            started.append(engine_factory())
        return started[0]

    return start


def auth_row(e164: str, password: str, expires: int = 3600) -> str:
    """A sipp injection row: account;[authentication …];expires."""
    return f"{e164};[authentication username={e164} password={password}];{expires}"


@pytest.fixture
def phone(transactional_db: Any) -> Phone:
    return Phone.objects.create(e164="1001", password="pw-1001")


@pytest.fixture
def b2bua(db: Any, redis_client: Any, tmp_path: Any) -> Iterator[Callable[[], B2bua]]:
    """Build the in-memory B2BUA (tests/engine/b2bua.py) once the test's data exists:
    `b2bua()`; it is closed at teardown."""
    built: list[B2bua] = []

    def build() -> B2bua:
        built.append(B2bua(tmp_path / f"spool-{len(built)}"))
        return built[-1]

    yield build
    for switch in built:
        switch.close()
