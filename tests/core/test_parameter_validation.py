"""Every declared parameter accepts exactly its type and range, edges included."""

from __future__ import annotations

import pytest

from vosadmin.core.parameters import PARAMETERS, Kind, ParameterValueError

INTEGERS = [p for p in PARAMETERS.values() if p.kind is Kind.INTEGER]
BOOLS = [p for p in PARAMETERS.values() if p.kind is Kind.BOOL]
FLAGS = [p for p in PARAMETERS.values() if p.kind is Kind.FLAG]
NON_NULLABLE = [p for p in PARAMETERS.values() if not p.nullable]


def ids(parameters: list) -> list[str]:
    return [parameter.name for parameter in parameters]


def test_every_parameter_of_the_spec_is_declared() -> None:
    spec_names = {
        "SS_REPLY_UNAUTHORIZED",
        "SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS",
        "SS_TCP_CLOSE_RESET",
        "SS_ENDPOINT_REGISTER_REPLACE",
        "SS_ENDPOINT_EXPIRE",
        "SS_ENDPOINTTIMETOLIVE",
        "SS_AUTHENTICATION_MAX_RETRY",
        "SS_AUTHENTICATION_FAILED_SUSPEND",
        "SS_MAPPING_GATEWAY_TIMEOUT",
        "SS_SIP_STOP_SWITCH_AFTER_SDP",
        "SS_GATEWAY_SWITCH_LIMIT",
        "SS_SIP_OPTIONS_CHECK_PERIOD",
        "SS_SIP_NO_TIMER_REINVITE_INTERVAL",
        "SS_BLACK_LIST_DYNAMIC_RUN_MODE",
        "SERVER_BILLING_RECORD_ZERO_HOLD_TIME",
        "SERVER_BILLING_RECORD_ILLEGAL_CALL",
        "SERVER_BILLING_RECORD_SERVER_HANG_UP",
        "SERVER_BILLING_FEE_PRECISTION",
        "SERVER_LOGIN_FAILED_DISABLE_TIME",
        "SERVER_LOGIN_MAX_RETRY",
        "SERVER_PASSWORD_LENGTH",
    }
    for family in (
        "CALLER_MALICIOUS_CALL",
        "MALICIOUS_CALL",
        "NO_ANSWER",
        "CALLER_CONCURRENT_CALL",
    ):
        spec_names |= {
            f"SS_BLACK_LIST_{family}_{suffix}" for suffix in ("CHECK_INTERVAL", "LIMIT", "EXPIRE")
        }
    assert spec_names <= set(PARAMETERS)


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("SS_REPLY_UNAUTHORIZED", True),
        ("SS_TCP_CLOSE_RESET", False),
        ("SS_ENDPOINT_REGISTER_REPLACE", True),
        ("SS_ENDPOINT_EXPIRE", 3600),
        ("SS_ENDPOINTTIMETOLIVE", 60),
        ("SS_AUTHENTICATION_MAX_RETRY", 6),
        ("SS_AUTHENTICATION_FAILED_SUSPEND", 180),
        ("SS_AUTHENTICATION_FAILED_WINDOW", 60),
        ("SS_MAPPING_GATEWAY_TIMEOUT", 10),
        ("SS_SIP_STOP_SWITCH_AFTER_SDP", True),
        ("SS_GATEWAY_SWITCH_LIMIT", None),
        ("SS_SIP_OPTIONS_CHECK_PERIOD", 60),
        ("SS_SIP_NO_TIMER_REINVITE_INTERVAL", 7200),
        ("SS_BLACK_LIST_CALLER_MALICIOUS_CALL_CHECK_INTERVAL", 600),
        ("SS_BLACK_LIST_CALLER_MALICIOUS_CALL_LIMIT", None),
        ("SS_BLACK_LIST_CALLER_MALICIOUS_CALL_EXPIRE", 3600),
        ("SS_BLACK_LIST_NO_ANSWER_EXPIRE", 172800),
        ("SS_BLACK_LIST_CALLER_CONCURRENT_CALL_CHECK_INTERVAL", 60),
        ("SS_BLACK_LIST_CALLER_CONCURRENT_CALL_EXPIRE", 86400),
        ("SS_BLACK_LIST_DYNAMIC_RUN_MODE", "Global"),
        ("SERVER_BILLING_RECORD_ZERO_HOLD_TIME", 1),
        ("SERVER_BILLING_FEE_PRECISTION", 2),
        ("SERVER_LOGIN_FAILED_DISABLE_TIME", 900),
        ("SERVER_PASSWORD_LENGTH", 10),
        ("SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS", []),
    ],
)
def test_defaults_are_the_specs(name: str, default: object) -> None:
    assert PARAMETERS[name].default == default


@pytest.mark.parametrize("parameter", INTEGERS, ids=ids(INTEGERS))
def test_integer_range_edges(parameter) -> None:
    assert parameter.clean(parameter.minimum) == parameter.minimum
    assert parameter.clean(parameter.maximum) == parameter.maximum
    for outside in (parameter.minimum - 1, parameter.maximum + 1):
        if outside not in parameter.special_values:
            with pytest.raises(ParameterValueError, match=parameter.name):
                parameter.clean(outside)


@pytest.mark.parametrize("parameter", INTEGERS, ids=ids(INTEGERS))
def test_integers_reject_other_types(parameter) -> None:
    for wrong in (True, False, "60", 60.5, [60], {"value": 60}):
        with pytest.raises(ParameterValueError):
            parameter.clean(wrong)


@pytest.mark.parametrize(
    ("name", "special", "just_outside"),
    [
        ("SS_ENDPOINTTIMETOLIVE", 0, 9),
        ("SS_SIP_OPTIONS_CHECK_PERIOD", 0, 9),
        ("SS_AUTHENTICATION_MAX_RETRY", 0, -1),
    ],
)
def test_zero_means_off_where_the_spec_says_so(name: str, special: int, just_outside: int) -> None:
    parameter = PARAMETERS[name]
    assert parameter.clean(special) == special
    with pytest.raises(ParameterValueError, match=name):
        parameter.clean(just_outside)


@pytest.mark.parametrize("parameter", NON_NULLABLE, ids=ids(NON_NULLABLE))
def test_none_is_rejected_unless_the_parameter_allows_it(parameter) -> None:
    with pytest.raises(ParameterValueError, match=parameter.name):
        parameter.clean(None)


def test_limits_and_switch_limit_accept_none() -> None:
    nullable = {p.name for p in PARAMETERS.values() if p.nullable}
    assert nullable == {
        "SS_GATEWAY_SWITCH_LIMIT",
        "SS_BLACK_LIST_CALLER_MALICIOUS_CALL_LIMIT",
        "SS_BLACK_LIST_MALICIOUS_CALL_LIMIT",
        "SS_BLACK_LIST_NO_ANSWER_LIMIT",
        "SS_BLACK_LIST_CALLER_CONCURRENT_CALL_LIMIT",
    }
    for name in nullable:
        assert PARAMETERS[name].clean(None) is None


@pytest.mark.parametrize("parameter", BOOLS, ids=ids(BOOLS))
def test_bools_take_only_json_booleans(parameter) -> None:
    assert parameter.clean(True) is True
    assert parameter.clean(False) is False
    for wrong in (1, 0, "On", "true", None):
        with pytest.raises(ParameterValueError, match=parameter.name):
            parameter.clean(wrong)


@pytest.mark.parametrize("parameter", FLAGS, ids=ids(FLAGS))
def test_flags_take_zero_or_one(parameter) -> None:
    assert parameter.clean(0) == 0
    assert parameter.clean(1) == 1
    for wrong in (2, -1, True, "1", None):
        with pytest.raises(ParameterValueError, match=parameter.name):
            parameter.clean(wrong)


def test_run_mode_choices() -> None:
    parameter = PARAMETERS["SS_BLACK_LIST_DYNAMIC_RUN_MODE"]
    assert parameter.clean("Independent") == "Independent"
    for wrong in ("global", "", 1, None):
        with pytest.raises(ParameterValueError, match="Global"):
            parameter.clean(wrong)


def test_trusted_networks_are_normalised_cidr_lists() -> None:
    parameter = PARAMETERS["SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS"]
    assert parameter.clean(["10.1.2.3/8", "2001:db8::/32", "192.0.2.7"]) == [
        "10.0.0.0/8",
        "2001:db8::/32",
        "192.0.2.7/32",
    ]
    assert parameter.clean([]) == []
    for wrong in ("10.0.0.0/8", ["10.0.0.0/33"], ["not-a-network"], [10], None):
        with pytest.raises(ParameterValueError, match="CIDR"):
            parameter.clean(wrong)


def test_error_names_the_parameter_and_the_range() -> None:
    with pytest.raises(ParameterValueError) as error:
        PARAMETERS["SS_ENDPOINT_EXPIRE"].clean(59)
    assert str(error.value) == "SS_ENDPOINT_EXPIRE must be an integer from 60 to 7200 (seconds)."


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("SS_TCP_CLOSE_RESET", "On", True),
        ("SS_TCP_CLOSE_RESET", "off", False),
        ("SS_ENDPOINT_EXPIRE", " 120 ", 120),
        ("SS_GATEWAY_SWITCH_LIMIT", "None", None),
        ("SS_GATEWAY_SWITCH_LIMIT", "", None),
        ("SERVER_BILLING_RECORD_ILLEGAL_CALL", "0", 0),
        (
            "SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS",
            "10.0.0.0/8, 192.0.2.0/24",
            ["10.0.0.0/8", "192.0.2.0/24"],
        ),
    ],
)
def test_form_text_is_parsed_by_type(name: str, text: str, value: object) -> None:
    assert PARAMETERS[name].parse_text(text) == value


def test_form_text_that_is_not_a_value_is_rejected() -> None:
    with pytest.raises(ParameterValueError, match="SS_ENDPOINT_EXPIRE"):
        PARAMETERS["SS_ENDPOINT_EXPIRE"].parse_text("one hour")
    with pytest.raises(ParameterValueError, match="SS_ENDPOINT_EXPIRE"):
        PARAMETERS["SS_ENDPOINT_EXPIRE"].parse_text("None")
