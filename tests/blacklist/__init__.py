"""Tests of the blacklist app: static lists, CSV, the dynamic checks, expiry, release, live page.

The checks are driven with a fixed clock and Redis counters written per ADR 0003
(`engine_counters.py`), and against the engine's own counter writer
(`test_engine_counter_contract.py`); a real Celery worker and beat list a caller end to end
(`test_celery_beat_end_to_end.py`).

The real SIP engine driven by sipp, with the checks run at the end of the counting window,
covers every family end to end (`test_engine_end_to_end.py`).
"""
