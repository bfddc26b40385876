"""The same work, back to back or in bursts with pauses between: the CPU it costs each way.

    taskset -c 1 .venv/bin/python bench/bursts.py

On these virtual machines work done in short bursts after idle pauses costs more CPU than the
same work done back to back, which is why a lightly loaded engine (each of two workers carrying
half the calls) spends more CPU per call than a busy one (docs/adr/0011). The work is parsing
the sample INVITE of tests/sip/samples.py 20 times (the compiled core when `make native` built
it); the CPU is the process's own (`time.process_time`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from softswitch.sip.parser import try_parse_message
from tests.sip.samples import INVITE

PAUSES_MS = (0, 0.5, 2, 10)


def burst() -> None:
    for _ in range(20):
        try_parse_message(INVITE)


def cpu_per_burst(pause_ms: float, bursts: int) -> float:
    """Microseconds of CPU per burst, with `pause_ms` of sleep after each."""
    started = time.process_time()
    for _ in range(bursts):
        burst()
        if pause_ms:
            time.sleep(pause_ms / 1000)
    return (time.process_time() - started) / bursts * 1e6


def main() -> None:
    for pause_ms in PAUSES_MS:
        bursts = 4000 if pause_ms == 0 else 400
        print(f"pause {pause_ms:4} ms between bursts: {cpu_per_burst(pause_ms, bursts):7.1f} µs")


if __name__ == "__main__":
    main()
