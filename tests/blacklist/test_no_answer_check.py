"""No answer: a called number with LIMIT or more unanswered calls in a row is listed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from blacklist.checks import run_check
from blacklist.models import DynamicBlacklistEntry, SystemWhitelistEntry
from softswitch.redis_keys import NO_ANSWER_RUN_KEY
from tests.blacklist.conftest import NOW, configure
from tests.blacklist.engine_counters import count_answered, count_unanswered

pytestmark = pytest.mark.django_db


def listed() -> dict[str, int]:
    entries = DynamicBlacklistEntry.objects.filter(type="no_answer", active=True)
    return dict(entries.values_list("number", "observed"))


def test_limit_none_does_nothing_and_keeps_the_runs(redis) -> None:
    count_unanswered(redis, "4930000001", 50)
    assert run_check("no_answer", now=NOW, redis=redis).skipped
    assert redis.zscore(NO_ANSWER_RUN_KEY, "4930000001") == 50
    assert not DynamicBlacklistEntry.objects.exists()


def test_a_run_reaching_the_limit_is_listed_one_below_is_not(redis) -> None:
    configure("no_answer", limit=5)
    count_unanswered(redis, "4930000005", 5)
    count_unanswered(redis, "4930000004", 4)
    run_check("no_answer", now=NOW, redis=redis)
    assert listed() == {"4930000005": 5}


def test_an_answered_call_resets_the_run(redis) -> None:
    configure("no_answer", limit=5)
    count_unanswered(redis, "4930000001", 4)
    count_answered(redis, "4930000001")
    count_unanswered(redis, "4930000001", 4)
    run_check("no_answer", now=NOW, redis=redis)
    assert listed() == {}


def test_a_listed_run_restarts_from_zero_so_a_repeated_run_finds_nothing(redis) -> None:
    configure("no_answer", limit=5)
    count_unanswered(redis, "4930000001", 6)
    count_unanswered(redis, "4930000002", 2)
    run_check("no_answer", now=NOW, redis=redis)
    assert redis.zscore(NO_ANSWER_RUN_KEY, "4930000001") is None
    assert redis.zscore(NO_ANSWER_RUN_KEY, "4930000002") == 2, "runs below the limit go on"
    assert run_check("no_answer", now=NOW, redis=redis).found == 0
    assert DynamicBlacklistEntry.objects.count() == 1


def test_evidence_and_expiry(redis) -> None:
    configure("no_answer", limit=3, interval=300)
    count_unanswered(redis, "4930000001", 8)
    run_check("no_answer", now=NOW, redis=redis)
    entry = DynamicBlacklistEntry.objects.get()
    assert entry.expires_at == NOW + timedelta(seconds=172800), "default EXPIRE: 2 days"
    assert (entry.observed, entry.limit, entry.window_seconds) == (8, 3, 300)
    assert entry.evidence() == "8 unanswered calls in a row (limit 3)"


def test_white_listed_callees_are_never_listed(redis) -> None:
    configure("no_answer", limit=3)
    SystemWhitelistEntry.objects.create(number="112", match="exact")
    SystemWhitelistEntry.objects.create(number="800", match="prefix")
    for number in ("112", "8001234567", "4930000001"):
        count_unanswered(redis, number, 10)
    run_check("no_answer", now=NOW, redis=redis)
    assert listed() == {"4930000001": 10}
