"""The task that moves CDRs from the local journal into PostgreSQL, off the call path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from decimal import Decimal

from billing.ingest import Inserted
from softswitch.engine.cdr_journal import CdrJournal

logger = logging.getLogger(__name__)


class CdrWriter:
    """Every `interval` seconds: fsync the journal, COPY what is pending, advance the offset,
    then tell `on_committed` which lines are in the database and the balances they charged.

    While the database is unreachable the batch stays in the journal and the writer retries
    with a growing pause (up to `max_backoff`); nothing is dropped and nothing is lost. Once
    it writes again it calls `on_recovered`: a batch that failed may have been committed all
    the same, and its replay charges nothing, so the balances it charged are not known.
    """

    def __init__(
        self,
        journal: CdrJournal,
        executor: Executor,
        write_batch: Callable[[bytes], Inserted],
        interval: float = 0.2,
        max_backoff: float = 5.0,
        on_committed: Callable[[bytes, dict[int, Decimal]], None] | None = None,
        on_recovered: Callable[[], None] | None = None,
    ) -> None:
        self.journal = journal
        self.on_committed = on_committed or (lambda data, balances: None)
        self.on_recovered = on_recovered or (lambda: None)
        self.executor = executor
        self.write_batch = write_batch
        self.interval = interval
        self.max_backoff = max_backoff
        self.database_down = False
        self.written = 0
        self.pause = interval

    async def step(self) -> float:
        """Flush once; the pause before the next (growing while the database refuses)."""
        ok = await self.flush()
        self.pause = self.interval if ok else min(self.pause * 2 or 1, self.max_backoff)
        return self.pause

    async def flush(self) -> bool:
        """Write what is pending now, in batches of at most the journal's MAX_BATCH_BYTES;
        False if the database refused (the journal keeps it).

        CDRs journaled during the write wait for the next step: under load a batch then holds
        an interval's CDRs. Going on with them at once had the writer commit a batch of a few
        CDRs every database round trip (25–30 a second at 250 calls/s), each with its fsync, its
        charges and its release of the calls' money."""
        loop = asyncio.get_running_loop()
        target: int | None = None  # the journal's end when the flush began
        while self.journal.has_pending():
            end = self.journal.flush_buffer()
            target = end if target is None else target
            await loop.run_in_executor(self.executor, self.journal.fsync)
            self.journal.synced()
            data, offset = await loop.run_in_executor(
                self.executor, self.journal.read_pending, target
            )
            if offset == self.journal.committed:
                return True
            balances: dict[int, Decimal] = {}
            try:
                if data:  # empty when every line was quarantined
                    inserted = await loop.run_in_executor(self.executor, self.write_batch, data)
                    self.written += inserted.rows
                    balances = inserted.balances
            except Exception as error:
                self._report_outage(error)
                return False
            self.journal.commit(offset)
            self.on_committed(data, balances)
            self._report_recovery()
            if offset >= target:  # else a backlog: the next batch of it
                return True
        return True

    def _report_outage(self, error: Exception) -> None:
        if not self.database_down:
            logger.error("CDR writer: database unavailable, journaling CDRs locally (%s)", error)
        self.database_down = True

    def _report_recovery(self) -> None:
        if self.database_down:
            logger.warning("CDR writer: database back, journaled CDRs written")
            self.database_down = False
            self.on_recovered()
