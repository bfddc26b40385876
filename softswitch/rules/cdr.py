"""CDR building (SPEC §4): which calls get a record, and the record's fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from billing.choices import CdrBillingModeChoices as BillingMode
from billing.choices import CdrEndDirectionChoices as EndDirection
from billing.ingest import CdrRow

if TYPE_CHECKING:
    from softswitch.rules.charging import CallCharges


@dataclass
class CallRecord:
    """What the engine knows about a call when it ends (times are Unix seconds)."""

    call_id: str
    caller: str
    callee: str
    caller_ip: str
    billing_mode: int
    start_time: float
    stop_time: float = 0.0
    connect_time: float | None = None
    callee_ip: str = ""
    mapping_gateway: str = ""
    phone: str = ""
    routing_gateway: str = ""
    end_reason: int = 0
    end_direction: int = EndDirection.SERVER
    ended_by_switch: bool = False  # max duration, shutdown, missing ACK…: the switch hung up
    flow_no: int | None = None  # fixed at the answer, so a CDR recovered after a crash shares it
    account_id: int | None = None  # the origin's account, charged the fee
    clearing_account_id: int | None = None  # the routing gateway's vendor, giving the cost
    dialled: str = ""  # the callee as sent to the routing gateway (after strip/add)
    progress_time: float | None = None  # the first 18x or 200 from the routing side

    def progressed(self, now: float) -> None:
        """A routing gateway rang or answered at `now`: the first time fixes the PDD."""
        if self.progress_time is None:
            self.progress_time = now

    @property
    def pdd_ms(self) -> int | None:
        """Post-dial delay: INVITE received → first 18x or 200; None if neither came."""
        if self.progress_time is None:
            return None
        return max(round((self.progress_time - self.start_time) * 1000), 0)

    @property
    def hold_time_ms(self) -> int:
        """The answered duration."""
        if self.connect_time is None:
            return 0
        return max(round((self.stop_time - self.connect_time) * 1000), 0)


def should_record(record: CallRecord, parameters: dict[str, Any]) -> bool:
    """SPEC §4.3: illegal calls by their own switch; answered calls always (a CDR is what
    charges a call, SPEC §8.2: one the switch hung up is charged too); unanswered calls (zero
    hold time) by SERVER_BILLING_RECORD_ZERO_HOLD_TIME, and those the switch ended also by
    SERVER_BILLING_RECORD_SERVER_HANG_UP: either one at 0 drops them."""
    if record.billing_mode == BillingMode.ILLEGAL_CALL:
        return bool(parameters["SERVER_BILLING_RECORD_ILLEGAL_CALL"] == 1)
    if record.connect_time is not None:
        return True
    if record.ended_by_switch and parameters["SERVER_BILLING_RECORD_SERVER_HANG_UP"] != 1:
        return False
    return bool(parameters["SERVER_BILLING_RECORD_ZERO_HOLD_TIME"] == 1)


def cdr_row(record: CallRecord, flow_no: int, charges: CallCharges) -> CdrRow:
    """The CDR of the call, with its rating `charges`."""
    return CdrRow(
        flow_no=flow_no,
        call_id=record.call_id[:255],
        caller=record.caller[:64],
        callee=record.callee[:64],
        caller_ip=record.caller_ip,
        callee_ip=record.callee_ip,
        mapping_gateway=record.mapping_gateway,
        phone=record.phone,
        routing_gateway=record.routing_gateway,
        start_time=_utc(record.start_time),
        connect_time=_utc(record.connect_time) if record.connect_time else None,
        stop_time=_utc(record.stop_time),
        hold_time_ms=record.hold_time_ms,
        fee_time=charges.fee_time,
        fee=charges.fee,
        end_reason=int(record.end_reason),
        end_direction=int(record.end_direction),
        billing_mode=int(record.billing_mode),
        account_id=charges.account_id,
        fee_prefix=charges.fee_prefix,
        cost=charges.cost,
        cost_prefix=charges.cost_prefix,
        pdd_ms=record.pdd_ms,
    )


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
