"""Tests of the blacklist app: static lists, CSV, the dynamic checks, expiry, release, live page.

The checks are driven with a fixed clock and Redis counters written per ADR 0003
(`engine_counters.py`), and against the engine's own counter writer
(`test_engine_counter_contract.py`); a real Celery worker and beat list a caller end to end
(`test_celery_beat_end_to_end.py`).

Still to write once the SIP engine's sipp harness exists (issue 5, "Tests that must exist"),
each driving `manage.py runsipengine` with sipp against the test database, with a Celery worker
and beat as in `test_celery_beat_end_to_end.py` or `blacklist.checks.run_check(type, now=…)`:
- malicious caller: LIMIT INVITEs inside a 10 s CHECK_INTERVAL → listed by the next check → the
  next INVITE is refused (403) with end reason −6 in its CDR;
- malicious callee: the same towards one callee → end reason −8;
- no answer: a sipp gateway that never answers (or answers 480) LIMIT times → end reason −9;
- concurrent abuse: sipp holding more than LIMIT calls at once → end reason −7;
- run mode Independent: a mapping gateway with "dynamic blacklist" off is never listed;
- a white-listed caller making LIMIT calls is never listed and keeps calling;
- expiry: the engine stops refusing at `expires_at` by its own clock, before beat's expiry runs;
- release: an administrator's DELETE lets the next call through within seconds.
"""
