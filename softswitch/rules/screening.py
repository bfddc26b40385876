"""Call screening (SPEC §3.3 step 2): white list, static lists, dynamic entries."""

from __future__ import annotations

from billing.choices import CdrEndReasonChoices as EndReason
from softswitch.rules.domain import DynamicEntries, Lists, Origin

CALLER_DYNAMIC = (
    ("malicious_caller", EndReason.CALLER_DYNAMIC_BLACKLIST_MALICIOUS),
    ("concurrent", EndReason.CALLER_DYNAMIC_BLACKLIST_CONCURRENT),
)
CALLEE_DYNAMIC = (
    ("malicious_callee", EndReason.CALLEE_DYNAMIC_BLACKLIST_MALICIOUS),
    ("no_answer", EndReason.CALLEE_DYNAMIC_BLACKLIST_NO_ANSWER),
)


def screen_call(
    caller: str, callee: str, origin: Origin, lists: Lists, dynamic: DynamicEntries, now: float
) -> EndReason | None:
    """Why the call must be rejected (an internal end reason), or None to let it through.

    The system white list passes a number through: a white-listed caller is not checked against
    any list, nor is a white-listed callee. Otherwise static lists (the origin's groups and the
    groups applying to all traffic) come before dynamic entries, the caller before the callee.
    """
    if not lists.whitelist.matches(caller):
        reason = _screen_number(
            caller,
            origin.caller_groups,
            lists,
            dynamic,
            now,
            EndReason.CALLER_STATIC_BLACKLIST,
            CALLER_DYNAMIC,
        )
        if reason is not None:
            return reason
    if not lists.whitelist.matches(callee):
        return _screen_number(
            callee,
            origin.callee_groups,
            lists,
            dynamic,
            now,
            EndReason.CALLEE_STATIC_BLACKLIST,
            CALLEE_DYNAMIC,
        )
    return None


def _screen_number(
    number: str,
    groups: tuple[int, ...],
    lists: Lists,
    dynamic: DynamicEntries,
    now: float,
    static_reason: EndReason,
    dynamic_reasons: tuple[tuple[str, EndReason], ...],
) -> EndReason | None:
    if lists.listed(number, groups):
        return static_reason
    types = tuple(entry_type for entry_type, _ in dynamic_reasons)
    blocking = dynamic.blocking_type(number, types, now)
    return dict(dynamic_reasons)[blocking] if blocking else None
