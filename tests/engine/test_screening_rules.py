"""Screening: white list first, then static lists, then dynamic entries (to the second)."""

from __future__ import annotations

from billing.choices import CdrEndReasonChoices as EndReason
from softswitch.rules.domain import DynamicEntries, Lists, NumberMatcher, Origin
from softswitch.rules.screening import screen_call

ORIGIN = Origin(
    id=1,
    name="GW",
    capacity=0,
    locked=False,
    dynamic_blacklist=False,
    caller_groups=(1,),
    callee_groups=(2,),
)
LISTS = Lists(
    groups={
        1: NumberMatcher.build([("5551", "exact"), ("666", "prefix")]),
        2: NumberMatcher.build([("900", "prefix")]),
        3: NumberMatcher.build([("882", "prefix")]),
        4: NumberMatcher.build([("123", "exact")]),
    },
    global_groups=(3,),
    whitelist=NumberMatcher.build([("666999", "exact"), ("900112", "exact"), ("8821", "prefix")]),
)
NOTHING = DynamicEntries()


def screen(caller: str, callee: str, dynamic: DynamicEntries = NOTHING, now: float = 1000.0):
    return screen_call(caller, callee, ORIGIN, LISTS, dynamic, now)


def test_clean_call_passes() -> None:
    assert screen("1001", "8613800000000") is None


def test_caller_static_exact_and_prefix() -> None:
    assert screen("5551", "44") is EndReason.CALLER_STATIC_BLACKLIST
    assert screen("6661234", "44") is EndReason.CALLER_STATIC_BLACKLIST
    assert screen("55512", "44") is None  # exact entry does not match longer numbers


def test_callee_static_uses_the_callee_groups_only() -> None:
    assert screen("1001", "9001234") is EndReason.CALLEE_STATIC_BLACKLIST
    assert screen("9001234", "1001") is None  # 900 is a callee list, not a caller list


def test_groups_applying_to_all_screen_both_sides() -> None:
    assert screen("88212", "44") is None  # white-listed by prefix 8821
    assert screen("8829", "44") is EndReason.CALLER_STATIC_BLACKLIST
    assert screen("1001", "8829") is EndReason.CALLEE_STATIC_BLACKLIST


def test_unattached_groups_do_not_screen() -> None:
    assert screen("123", "44") is None


def test_white_list_passes_a_number_through_any_list() -> None:
    assert screen("666999", "44") is None
    dynamic = DynamicEntries()
    dynamic.put(1, "900112", "no_answer", expires_at=5000)
    assert screen("1001", "900112", dynamic) is None


def test_dynamic_entries_block_until_their_expiry_to_the_second() -> None:
    dynamic = DynamicEntries()
    dynamic.put(1, "1001", "malicious_caller", expires_at=2000)
    dynamic.put(2, "4412", "no_answer", expires_at=3000)
    dynamic.put(3, "1002", "concurrent", expires_at=3000)
    dynamic.put(4, "4413", "malicious_callee", expires_at=3000)
    assert (
        screen("1001", "44", dynamic, now=1999.999) is EndReason.CALLER_DYNAMIC_BLACKLIST_MALICIOUS
    )
    assert screen("1001", "44", dynamic, now=2000.0) is None
    assert screen("1002", "44", dynamic) is EndReason.CALLER_DYNAMIC_BLACKLIST_CONCURRENT
    assert screen("1", "4412", dynamic) is EndReason.CALLEE_DYNAMIC_BLACKLIST_NO_ANSWER
    assert screen("1", "4413", dynamic) is EndReason.CALLEE_DYNAMIC_BLACKLIST_MALICIOUS


def test_caller_types_never_block_the_callee_and_vice_versa() -> None:
    dynamic = DynamicEntries()
    dynamic.put(1, "1001", "no_answer", expires_at=5000)
    dynamic.put(2, "44", "malicious_caller", expires_at=5000)
    assert screen("1001", "44", dynamic) is None


def test_discarded_entry_stops_blocking() -> None:
    dynamic = DynamicEntries()
    dynamic.put(7, "1001", "malicious_caller", expires_at=5000)
    dynamic.discard(7)
    assert screen("1001", "44", dynamic) is None
