"""The engine's in-memory view of the configuration: immutable snapshots of database rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from billing.choices import AccountTypeChoices


@dataclass(frozen=True, slots=True)
class NumberMatcher:
    """A set of numbers matched exactly or by prefix, answering `matches()` in O(prefix lengths)."""

    exact: frozenset[str] = frozenset()
    prefixes: frozenset[str] = frozenset()
    prefix_lengths: tuple[int, ...] = ()

    @classmethod
    def build(cls, entries: list[tuple[str, str]]) -> NumberMatcher:
        """From (number, match) pairs, match being "exact" or "prefix"."""
        exact = frozenset(number for number, match in entries if match == "exact")
        prefixes = frozenset(number for number, match in entries if match == "prefix")
        return cls(exact, prefixes, tuple(sorted({len(prefix) for prefix in prefixes})))

    def matches(self, number: str) -> bool:
        """Whether the number is listed exactly or starts with a listed prefix."""
        if number in self.exact:
            return True
        return any(
            number[:length] in self.prefixes
            for length in self.prefix_lengths
            if length <= len(number)
        )

    def __len__(self) -> int:
        return len(self.exact) + len(self.prefixes)


@dataclass(frozen=True, slots=True)
class Origin:
    """What phones and mapping gateways share for admission and screening."""

    id: int
    name: str  # the phone's E.164 number or the gateway's name
    capacity: int
    locked: bool
    dynamic_blacklist: bool
    caller_groups: tuple[int, ...]
    callee_groups: tuple[int, ...]
    account_id: int | None = None  # the customer charged; None = unbilled (SPEC §8.3)
    routing_policy: str = "priority"
    # Cost guards of least-cost routing (SPEC §8.4): set on mapping gateways; None = no guard.
    max_cost_per_minute: Decimal | None = None
    min_margin_percent: Decimal | None = None
    rate_check: bool = False


@dataclass(frozen=True, slots=True)
class PhoneAccount(Origin):
    """A phone: an Origin with SIP credentials."""

    password: str = ""

    @property
    def e164(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class MappingGatewayAccount(Origin):
    """A mapping gateway: an Origin recognised by source address."""

    source_keys: tuple[tuple[str, int | None], ...] = ()


@dataclass(frozen=True, slots=True)
class RoutingGatewayTarget:
    """A routing gateway as routing sees it."""

    id: int
    name: str
    host: str
    port: int
    transport: str
    prefixes: tuple[str, ...]
    priority: int
    capacity: int
    locked: bool
    strip_digits: int
    add_prefix: str
    options_check: bool
    clearing_account_id: int | None = None  # the vendor whose rates give the cost

    def matched_prefix_length(self, callee: str) -> int | None:
        """Length of this gateway's longest prefix matching the callee ("*" = 0), or None."""
        best = None
        for prefix in self.prefixes:
            length = 0 if prefix == "*" else len(prefix)
            if (prefix == "*" or callee.startswith(prefix)) and (best is None or length > best):
                best = length
        return best

    def dialled_number(self, callee: str) -> str:
        """The callee as sent to this gateway: strip leading digits, then add the prefix."""
        return self.add_prefix + callee[self.strip_digits :]


@dataclass(frozen=True, slots=True)
class BillingAccount:
    """An account as the engine sees it (SPEC §8.1); `balance` as of the last reload, which
    every balance change triggers, or of this node's last CDR batch that charged it
    (docs/adr/0006)."""

    id: int
    type: int  # AccountTypeChoices: normal (customer) or clearing (vendor)
    rate_group_id: int | None
    credit_limit: Decimal
    locked: bool
    balance: Decimal

    @property
    def is_clearing(self) -> bool:
        return self.type == AccountTypeChoices.CLEARING

    @property
    def spendable(self) -> Decimal:
        """Balance plus credit limit: what the account may spend before reservations."""
        return self.balance + self.credit_limit


@dataclass(frozen=True, slots=True)
class Lists:
    """Static black lists by group, the global groups, and the system white list."""

    groups: dict[int, NumberMatcher] = field(default_factory=dict)
    global_groups: tuple[int, ...] = ()
    whitelist: NumberMatcher = NumberMatcher()

    def listed(self, number: str, group_ids: tuple[int, ...]) -> bool:
        """Whether the number is in any of the groups, or in a group applying to all traffic."""
        for group_id in (*group_ids, *self.global_groups):
            matcher = self.groups.get(group_id)
            if matcher is not None and matcher.matches(number):
                return True
        return False


@dataclass(slots=True)
class DynamicEntries:
    """Active dynamic-blacklist entries: (number, type) → (entry id, expiry as Unix time).

    An entry blocks while `now < expires_at`, to the second, whatever beat has done since.
    """

    entries: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)

    def blocking_type(self, number: str, types: tuple[str, ...], now: float) -> str | None:
        """The first of `types` with an entry for the number that has not expired yet."""
        for entry_type in types:
            entry = self.entries.get((number, entry_type))
            if entry is not None and now < entry[1]:
                return entry_type
        return None

    def put(self, entry_id: int, number: str, entry_type: str, expires_at: float) -> None:
        """Add or replace the entry for (number, type)."""
        self.entries[(number, entry_type)] = (entry_id, expires_at)

    def discard(self, entry_id: int) -> None:
        """Forget an entry (released, expired or deleted), by id."""
        for key, (known_id, _) in list(self.entries.items()):
            if known_id == entry_id:
                del self.entries[key]
