"""CDR flow numbers: unique across engine nodes without coordination (Snowflake layout).

    63 … 22: milliseconds since 2020-01-01 UTC (41 bits, good until 2089)
    21 … 12: node id (10 bits: 0–1022 for engine nodes, 1023 for generated/demo CDRs)
    11 …  0: sequence within the millisecond (12 bits)

Because a flow number is fixed before the CDR is journaled (when the call ends, or for an
answered call at the answer), a CDR replayed from the spool, or recovered after the engine was
killed, carries the same number and the database's key turns the replay into a no-op
(docs/adr/0004).
"""

from __future__ import annotations

EPOCH_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
NODE_BITS = 10
SEQUENCE_BITS = 12
MAX_NODE = (1 << NODE_BITS) - 1
GENERATED_NODE = MAX_NODE
SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1


class FlowNumberGenerator:
    """Hands out increasing flow numbers for one node; the caller passes the clock in."""

    def __init__(self, node_id: int) -> None:
        if not 0 <= node_id <= MAX_NODE:
            raise ValueError(f"node id must be 0–{MAX_NODE}, not {node_id}")
        self.node_id = node_id
        self._last_ms = 0
        self._sequence = 0

    def next(self, now_ms: int) -> int:
        """The next flow number at wall-clock `now_ms` (ms since the Unix epoch).

        Never goes backwards: if the clock steps back or a millisecond's 4096 numbers are used
        up, the generator borrows the next millisecond.
        """
        now_ms = max(now_ms, self._last_ms)
        if now_ms == self._last_ms:
            self._sequence = (self._sequence + 1) & SEQUENCE_MASK
            if self._sequence == 0:
                now_ms += 1
        else:
            self._sequence = 0
        self._last_ms = now_ms
        return (
            ((now_ms - EPOCH_MS) << (NODE_BITS + SEQUENCE_BITS))
            | (self.node_id << SEQUENCE_BITS)
            | self._sequence
        )
