"""`manage.py runsipengine [--listen HOST:PORT]`: the SIP engine (registrar + B2BUA)."""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import logging
import os
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from billing.flow_numbers import GENERATED_NODE
from softswitch.engine.dispatcher import run_workers, worker_command
from softswitch.engine.overload import OverloadSettings
from softswitch.engine.process import Engine, EngineSettings
from softswitch.engine.workers import WorkerSockets
from softswitch.sip.digest import DigestAlgorithm

logger = logging.getLogger("softswitch.engine")
# The cyclic collector's thresholds (ADR 0009). Almost nothing the engine frees is cyclic: what
# the collector does is scan live objects, and while it scans the engine reads nothing. A young
# collection comes every 10,000 net allocations (objects freed by reference counting count back)
# and moves what it finds alive to the middle generation, collected every second young one; a
# full collection (about a second) waits for 4,000 of those, some 20 minutes at 1,000 calls/s
# as before. Measured at 1,100 calls/s in three pairs: the longest pause 41-51 ms and p95 call
# setup 60-128 ms, against 162-183 ms and 156-312 ms at (50,000, 2, 1000), for the same CPU
# (the default (700, 10, 10) costs a third more CPU per registration).
GC_THRESHOLDS = (10_000, 1, 4000)


def parse_listen(value: str, name: str = "--listen") -> tuple[str, int]:
    """`127.0.0.1:5060`, `[::1]:5060` or `0.0.0.0:5060` → (host, port)."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"{name} must be HOST:PORT, not {value!r}")
    return host.strip("[]"), int(port)


def database_params() -> dict[str, Any]:
    """Connection parameters for the engine's own LISTEN connection."""
    params = dict(connection.get_connection_params())
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return params


def overload_settings() -> OverloadSettings:
    """SIP_OVERLOAD_DELAY_MS (≥ 0; 0: never shed), SIP_OVERLOAD_RETRY_AFTER (≥ 1 s) and
    SIP_OVERLOAD_HOLD_MS (≥ 0)."""
    delay_ms, retry_after = settings.SIP_OVERLOAD_DELAY_MS, settings.SIP_OVERLOAD_RETRY_AFTER
    hold_ms = settings.SIP_OVERLOAD_HOLD_MS
    if "SIP_OVERLOAD_QUEUE_KB" in os.environ:  # gone on 2026-12-02: say so rather than ignore it
        raise CommandError(
            "SIP_OVERLOAD_QUEUE_KB is no longer read: overload control goes by the queue's "
            "delay now; set SIP_OVERLOAD_DELAY_MS instead (docs/adr/0010)"
        )
    if delay_ms < 0:
        raise CommandError(f"SIP_OVERLOAD_DELAY_MS must be 0 or more, not {delay_ms}")
    if retry_after < 1:
        raise CommandError(f"SIP_OVERLOAD_RETRY_AFTER must be 1 or more, not {retry_after}")
    if hold_ms < 0:
        raise CommandError(f"SIP_OVERLOAD_HOLD_MS must be 0 or more, not {hold_ms}")
    return OverloadSettings(
        delay_seconds=delay_ms / 1000, retry_after=retry_after, hold_seconds=hold_ms / 1000
    )


def node_name(worker: int | None) -> str:
    """SIP_NODE_NAME, and a worker's number after it (each worker is a node of its own)."""
    return settings.SIP_NODE_NAME if worker is None else f"{settings.SIP_NODE_NAME}-{worker}"


def node_id(worker: int | None) -> int:
    """SIP_NODE_ID, plus a worker's number (so nodes must space their ids by SIP_WORKERS)."""
    value = settings.SIP_NODE_ID + (worker or 0)
    if not 0 <= value < GENERATED_NODE:
        raise CommandError(
            f"SIP_NODE_ID + worker number must be 0–{GENERATED_NODE - 1}, not {value}"
        )
    return value


def metrics_listen(worker: int | None) -> tuple[str, int] | None:
    """SIP_METRICS_LISTEN; worker n serves its own /metrics n ports after it."""
    if not settings.SIP_METRICS_LISTEN:
        return None
    host, port = parse_listen(settings.SIP_METRICS_LISTEN, "SIP_METRICS_LISTEN")
    port += worker or 0
    if port > 65535:
        raise CommandError(f"SIP_METRICS_LISTEN: no port {port} for worker {worker}")
    return host, port


def engine_settings(listen: str, worker: WorkerSockets | None, index: int | None) -> EngineSettings:
    """The engine's settings (worker `index` of several, or None), each checked: a CommandError
    names what is wrong."""
    return EngineSettings(
        listen=parse_listen(listen),
        node=node_name(index),
        engine=settings.SIP_NODE_NAME,
        node_id=node_id(index),
        realm=settings.SIP_REALM,
        secret=settings.SECRET_KEY,
        redis_url=settings.REDIS_URL,
        spool_dir=settings.SIP_SPOOL_DIR,
        database_params=database_params(),
        advertised_host=settings.SIP_ADVERTISED_HOST,
        count_cyclic_garbage=settings.SIP_COUNT_CYCLIC_GARBAGE,
        metrics_listen=metrics_listen(index),
        digest_algorithms=tuple(DigestAlgorithm(name) for name in settings.SIP_DIGEST_ALGORITHMS),
        overload=overload_settings(),
        worker=worker,
    )


class Command(BaseCommand):
    help = "Run the SIP engine on UDP and TCP (SIGTERM or Ctrl-C stops it gracefully)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--listen",
            default=settings.SIP_LISTEN,
            help="HOST:PORT for UDP and TCP (default SIP_LISTEN).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=settings.SIP_WORKERS,
            help="engine processes behind HOST:PORT (default SIP_WORKERS; docs/adr/0011).",
        )

    def handle(self, *args: Any, listen: str, workers: int, **options: Any) -> None:
        worker = WorkerSockets.from_environment()
        if workers < 1:
            raise CommandError(f"--workers must be 1 or more, not {workers}")
        if worker is None and workers > 1:
            for index in range(workers):  # every worker's settings hold before any starts
                engine_settings(listen, None, index)
            raise SystemExit(run_workers(workers, parse_listen(listen), worker_command()))
        if worker is not None:
            worker.follow_parent()
        # `kill -USR1 <pid>` prints every thread's stack: how to see what a stuck engine does.
        faulthandler.register(signal.SIGUSR1, all_threads=True)
        # The engine keeps many young objects alive for seconds (transactions live 32 s), so the
        # default thresholds run the cyclic collector over and over for little: measured, this
        # takes a third off the CPU time of a registration (bench/sip_engine.py).
        gc.set_threshold(*GC_THRESHOLDS)
        checked = engine_settings(listen, worker, worker.index if worker else None)
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio works too
            runner = asyncio.run
        runner(Engine(checked).run_until_signalled())
