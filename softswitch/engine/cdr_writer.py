"""The task that moves CDRs from the local journal into PostgreSQL, off the call path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from softswitch.engine.cdr_journal import CdrJournal

logger = logging.getLogger(__name__)


class CdrWriter:
    """Every `interval` seconds: fsync the journal, COPY what is pending, advance the offset,
    then tell `on_committed` which lines are in the database.

    While the database is unreachable the batch stays in the journal and the writer retries
    with a growing pause (up to `max_backoff`); nothing is dropped and nothing is lost.
    """

    def __init__(
        self,
        journal: CdrJournal,
        executor: Executor,
        write_batch: Callable[[bytes], int],
        interval: float = 0.2,
        max_backoff: float = 5.0,
        on_committed: Callable[[bytes], None] | None = None,
    ) -> None:
        self.journal = journal
        self.on_committed = on_committed or (lambda data: None)
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
        """Write everything pending; False if the database refused (the journal keeps it)."""
        loop = asyncio.get_running_loop()
        while self.journal.has_pending():
            end = self.journal.flush_buffer()
            await loop.run_in_executor(self.executor, self.journal.fsync)
            self.journal.synced()
            data, offset = await loop.run_in_executor(self.executor, self.journal.read_pending, end)
            if offset == self.journal.committed:
                return True
            try:
                if data:  # empty when every line was quarantined
                    self.written += await loop.run_in_executor(
                        self.executor, self.write_batch, data
                    )
            except Exception as error:
                self._report_outage(error)
                return False
            self.journal.commit(offset)
            self.on_committed(data)
            self._report_recovery()
        return True

    def _report_outage(self, error: Exception) -> None:
        if not self.database_down:
            logger.error("CDR writer: database unavailable, journaling CDRs locally (%s)", error)
        self.database_down = True

    def _report_recovery(self) -> None:
        if self.database_down:
            logger.warning("CDR writer: database back, journaled CDRs written")
        self.database_down = False
