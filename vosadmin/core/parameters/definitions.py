"""Every system parameter of SPEC §2, declared once.

Names, defaults and ranges follow VOS3000 (manual V2.1.9.07 §4.3.5) where the parameter comes
from it; recommendations come from the seed articles in `shared/seeds/`.
"""

from __future__ import annotations

from .types import Kind, Origin, Parameter

SIP_SECURITY = "SIP security and registration"
ROUTING = "Routing and failover"
DYNAMIC_BLACKLIST = "Dynamic blacklist"
BILLING = "Billing records"
CONSOLE = "Console security"

GROUPS = (SIP_SECURITY, ROUTING, DYNAMIC_BLACKLIST, BILLING, CONSOLE)

CHECK_INTERVAL = {"minimum": 10, "maximum": 86400, "unit": "seconds"}
LIMIT = {"minimum": 1, "maximum": 100000, "nullable": True, "default": None}
EXPIRE = {"minimum": 60, "maximum": 2592000, "unit": "seconds"}

SIP_SECURITY_PARAMETERS = [
    Parameter(
        "SS_REPLY_UNAUTHORIZED",
        SIP_SECURITY,
        Kind.BOOL,
        True,
        "On: answer unknown sources and failed authentication with 403. Off: drop them "
        "silently (401/407 challenges for existing accounts are sent either way).",
        "Off (silent) on a public address, with your customers' networks in "
        "SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS; On for internal deployments (easier diagnosis).",
    ),
    Parameter(
        "SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS",
        SIP_SECURITY,
        Kind.CIDR_LIST,
        [],
        "Sources in these networks always get an answer, even when SS_REPLY_UNAUTHORIZED is Off.",
        "List the networks of your own staff and customers so misconfigured devices there still "
        "get a 403 they can diagnose.",
        origin=Origin.EXTENSION,
    ),
    Parameter(
        "SS_TCP_CLOSE_RESET",
        SIP_SECURITY,
        Kind.BOOL,
        False,
        "How the switch closes a SIP TCP connection it decides to close: On = RST (SO_LINGER 0), "
        "Off = graceful FIN.",
        "Off (FIN) in production for stateful-firewall compatibility; On only where CPS is "
        "critical and connection churn is high.",
    ),
    Parameter(
        "SS_ENDPOINT_REGISTER_REPLACE",
        SIP_SECURITY,
        Kind.BOOL,
        True,
        "An account already registered from another contact: On = Kick (the new registration "
        "replaces the old), Off = Reject (403 while the old binding is alive).",
        "Off (Reject) for security: stolen credentials cannot kick the real phone off; On for "
        "shared lines that move between devices.",
    ),
    Parameter(
        "SS_ENDPOINT_EXPIRE",
        SIP_SECURITY,
        Kind.INTEGER,
        3600,
        "Longest registration the switch grants; shorter requests are honoured, longer ones cut.",
        "3600; lower it (e.g. 300) for phones behind NAT that must refresh pinholes.",
        unit="seconds",
        minimum=60,
        maximum=7200,
    ),
    Parameter(
        "SS_ENDPOINTTIMETOLIVE",
        SIP_SECURITY,
        Kind.INTEGER,
        60,
        "Lightweight registration: OPTIONS to every registered contact every N seconds; two "
        "missed checks in a row remove the binding. 0 = off.",
        "60 seconds: detects offline phones within two minutes instead of a whole expiry.",
        unit="seconds",
        minimum=10,
        maximum=3600,
        special_values=(0,),
    ),
    Parameter(
        "SS_AUTHENTICATION_MAX_RETRY",
        SIP_SECURITY,
        Kind.INTEGER,
        6,
        "Failed digest authentications from one source IP before it is suspended. 0 = unlimited.",
        "3–6 on a public address; never 0 when the switch is reachable from the internet.",
        unit="count",
        minimum=0,
        maximum=999,
    ),
    Parameter(
        "SS_AUTHENTICATION_FAILED_SUSPEND",
        SIP_SECURITY,
        Kind.INTEGER,
        180,
        "How long a suspended source is ignored: no answer, no processing beyond the counter.",
        "180–600 seconds; longer slows brute force further but locks out mistyped passwords "
        "longer.",
        unit="seconds",
        minimum=60,
        maximum=3600,
    ),
    Parameter(
        "SS_AUTHENTICATION_FAILED_WINDOW",
        SIP_SECURITY,
        Kind.INTEGER,
        60,
        "Sliding window of SS_AUTHENTICATION_MAX_RETRY (fail2ban's findtime): a source is "
        "suspended when that many failures fall within this many seconds; older failures no "
        "longer count.",
        "60 seconds stops password guessing (many attempts a second) without suspending a phone "
        "that retries a mistyped password every few minutes; raise it (e.g. 600) to catch slow "
        "guessing too.",
        unit="seconds",
        minimum=1,
        maximum=86400,
        origin=Origin.EXTENSION,
    ),
]

ROUTING_PARAMETERS = [
    Parameter(
        "SS_MAPPING_GATEWAY_TIMEOUT",
        ROUTING,
        Kind.INTEGER,
        10,
        "Longest wait for a gateway's first response to a request the switch sent it; on expiry "
        "the attempt failed and the call fails over.",
        "3–5 s on a LAN, 5–10 s over a WAN, 10–30 s over satellite: at least 5 × the round trip.",
        unit="seconds",
        minimum=1,
        maximum=300,
    ),
    Parameter(
        "SS_SIP_STOP_SWITCH_AFTER_SDP",
        ROUTING,
        Kind.BOOL,
        True,
        "Once a routing gateway has sent SDP (early media), the call no longer fails over.",
        "On: failing over after media was negotiated leaves one-way audio or silence.",
    ),
    Parameter(
        "SS_GATEWAY_SWITCH_LIMIT",
        ROUTING,
        Kind.INTEGER,
        None,
        "Most routing gateways tried per call; None = every gateway that matches.",
        "3 on retail routes keeps post-dial delay short; None for wholesale with many vendors.",
        unit="count",
        minimum=1,
        maximum=100,
        nullable=True,
    ),
    Parameter(
        "SS_SIP_OPTIONS_CHECK_PERIOD",
        ROUTING,
        Kind.INTEGER,
        60,
        "OPTIONS probes to routing gateways that have the check enabled; a gateway that stops "
        "answering is skipped by routing until it answers again. 0 = off.",
        "60 seconds.",
        unit="seconds",
        minimum=10,
        maximum=3600,
        special_values=(0,),
    ),
    Parameter(
        "SS_SIP_NO_TIMER_REINVITE_INTERVAL",
        ROUTING,
        Kind.INTEGER,
        7200,
        "Longest call: the switch ends longer calls itself (server hang-up, BYE to both sides).",
        "7200 seconds; shorter on fraud-prone routes where hour-long calls are suspicious.",
        unit="seconds",
        minimum=60,
        maximum=86400,
    ),
]


def blacklist_family(prefix: str, what: str, interval: int, expire: int) -> list[Parameter]:
    """The CHECK_INTERVAL / LIMIT / EXPIRE triple of one dynamic-blacklist family."""
    return [
        Parameter(
            f"{prefix}_CHECK_INTERVAL",
            DYNAMIC_BLACKLIST,
            Kind.INTEGER,
            interval,
            f"{what}: how often the check runs, and the counting window.",
            "Shorter detects faster but flags legitimate bursts; see the presets.",
            **CHECK_INTERVAL,
        ),
        Parameter(
            f"{prefix}_LIMIT",
            DYNAMIC_BLACKLIST,
            Kind.INTEGER,
            description=f"{what}: the threshold. None = this family is off.",
            recommendation="Never leave None in production: the family does nothing until set.",
            unit="count",
            **LIMIT,
        ),
        Parameter(
            f"{prefix}_EXPIRE",
            DYNAMIC_BLACKLIST,
            Kind.INTEGER,
            expire,
            f"{what}: how long an entry blocks the number.",
            "Longer for fraud-prone routes, shorter for retail.",
            **EXPIRE,
        ),
    ]


DYNAMIC_BLACKLIST_PARAMETERS = [
    *blacklist_family(
        "SS_BLACK_LIST_CALLER_MALICIOUS_CALL",
        "Malicious caller (call attempts by one calling number in the window reach the limit)",
        600,
        3600,
    ),
    *blacklist_family(
        "SS_BLACK_LIST_MALICIOUS_CALL",
        "Malicious callee (calls to one called number in the window reach the limit)",
        600,
        3600,
    ),
    *blacklist_family(
        "SS_BLACK_LIST_NO_ANSWER",
        "No answer (a called number leaves LIMIT consecutive calls unanswered)",
        600,
        172800,
    ),
    *blacklist_family(
        "SS_BLACK_LIST_CALLER_CONCURRENT_CALL",
        "Concurrent abuse (a calling number's simultaneous calls exceeded the limit)",
        60,
        86400,
    ),
    Parameter(
        "SS_BLACK_LIST_DYNAMIC_RUN_MODE",
        DYNAMIC_BLACKLIST,
        Kind.CHOICE,
        "Global",
        "Global: all traffic is watched. Independent: only traffic of mapping gateways and "
        'phones with "dynamic blacklist" enabled.',
        "Global, unless some customers must never be listed automatically.",
        choices=("Global", "Independent"),
    ),
]

BILLING_PARAMETERS = [
    Parameter(
        "SERVER_BILLING_RECORD_ZERO_HOLD_TIME",
        BILLING,
        Kind.FLAG,
        1,
        "1: every call attempt gets a CDR. 0: calls with zero hold time get none (answered calls "
        "always do).",
        "1; set 0 only during a flood attack to protect the database, and back to 1 after it. "
        "The dynamic blacklist keeps counting either way.",
    ),
    Parameter(
        "SERVER_BILLING_RECORD_ILLEGAL_CALL",
        BILLING,
        Kind.FLAG,
        1,
        '1: an INVITE from an unauthorised source gets a CDR with billing mode "Illegal call" '
        "(−2) before it is rejected.",
        "1 for the security audit trail; 0 only temporarily during a DDoS.",
    ),
    Parameter(
        "SERVER_BILLING_RECORD_SERVER_HANG_UP",
        BILLING,
        Kind.FLAG,
        1,
        "1: calls the switch itself ends (maximum duration, shutdown) get a CDR with end "
        'direction "Server". 0: only those it ends before an answer get none; an answered '
        "call always gets its CDR, which charges it.",
        "1: those calls are billable and must be reconciled.",
    ),
    Parameter(
        "SERVER_BILLING_FEE_PRECISTION",
        BILLING,
        Kind.INTEGER,
        2,
        "Decimal places of fees (VOS3000's own spelling of the name).",
        "2 for retail; 4 for wholesale per-second rates.",
        unit="decimal places",
        minimum=0,
        maximum=4,
    ),
    Parameter(
        "SERVER_BILLING_RECORD_RETENTION_DAYS",
        BILLING,
        Kind.INTEGER,
        180,
        "Days of CDRs kept; whole days older than this are dropped by the nightly housekeeping.",
        "180 days, or what your regulator requires.",
        unit="days",
        minimum=1,
        maximum=3650,
        origin=Origin.EXTENSION,
    ),
]

CONSOLE_PARAMETERS = [
    Parameter(
        "SERVER_LOGIN_FAILED_DISABLE_TIME",
        CONSOLE,
        Kind.INTEGER,
        900,
        "Console and API login lock-out time after repeated failures.",
        "900 seconds.",
        unit="seconds",
        minimum=60,
        maximum=86400,
    ),
    Parameter(
        "SERVER_LOGIN_MAX_RETRY",
        CONSOLE,
        Kind.INTEGER,
        5,
        "Failed logins of one user name that trigger the lock-out.",
        "5.",
        unit="count",
        minimum=1,
        maximum=100,
        origin=Origin.EXTENSION,
    ),
    Parameter(
        "SERVER_PASSWORD_LENGTH",
        CONSOLE,
        Kind.INTEGER,
        10,
        "Minimum password length for console users.",
        "12 or more for administrators.",
        unit="characters",
        minimum=8,
        maximum=64,
    ),
]

PARAMETERS: dict[str, Parameter] = {
    parameter.name: parameter
    for parameter in (
        *SIP_SECURITY_PARAMETERS,
        *ROUTING_PARAMETERS,
        *DYNAMIC_BLACKLIST_PARAMETERS,
        *BILLING_PARAMETERS,
        *CONSOLE_PARAMETERS,
    )
}
