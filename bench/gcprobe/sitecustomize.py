"""What the cyclic collector costs a running engine (docs/adr/0009), loaded by putting this
directory first on the engine's PYTHONPATH with GCPROBE_OUT set:

    GCPROBE_OUT=/tmp/gc PYTHONPATH=bench/gcprobe:. … (any command that starts the engine)

Every process then writes `$GCPROBE_OUT.<pid>` every 2 s: per generation, how many collections
ran, their total and longest pause in seconds and how many objects they freed, with the
process's CPU time. `kill -WINCH <pid>` writes `$GCPROBE_OUT.types.<pid>.<time>`: how many
objects each generation tracks, by type (the 40 most common). Not imported unless
GCPROBE_OUT is set; never in production.
"""

import collections
import gc
import json
import os
import signal
import time

OUT = os.environ.get("GCPROBE_OUT")
_started: dict[int, float] = {}
_totals = {generation: [0, 0.0, 0.0, 0] for generation in range(3)}  # runs, s, longest, freed
_written = [time.monotonic()]


def _on_collection(phase: str, info: dict) -> None:
    generation = info["generation"]
    if phase == "start":
        _started[generation] = time.perf_counter()
        return
    pause = time.perf_counter() - _started.pop(generation, time.perf_counter())
    total = _totals[generation]
    total[0] += 1
    total[1] += pause
    total[2] = max(total[2], pause)
    total[3] += info.get("collected", 0)
    if time.monotonic() - _written[0] > 2:
        _written[0] = time.monotonic()
        _write(f"{OUT}.{os.getpid()}", {"collections": _totals, "cpu": time.process_time()})


def _count_types(*_: object) -> None:
    counts = {}
    for generation in range(3):
        tracked = gc.get_objects(generation)
        by_type = collections.Counter(type(thing).__qualname__ for thing in tracked)
        counts[generation] = [len(tracked), by_type.most_common(40)]
        del tracked
    counts["thresholds"] = [gc.get_threshold(), gc.get_count()]
    _write(f"{OUT}.types.{os.getpid()}.{int(time.time())}", counts)


def _write(path: str, data: dict) -> None:
    with open(path, "w") as handle:
        json.dump(data, handle)


if OUT:
    gc.callbacks.append(_on_collection)
    signal.signal(signal.SIGWINCH, _count_types)
