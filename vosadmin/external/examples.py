# ruff: noqa: E501 - one example body a line reads best
"""A request body to start from for each call, shown by the test page `/external/test/server`."""

# fmt: off
EXAMPLES = {
    "GetCdr": {"accounts": [], "callerE164": "", "calleeE164": "", "beginTime": "20250101", "endTime": "20250101"},
    "GetCurrentCall": {"callerE164s": [], "calleeE164s": [], "gatewayMappingName": "", "gatewayRoutingName": ""},
    "DisconnectCurrentCall": {"callIds": ["<callId from GetCurrentCall>"]},
    "GetPhoneOnline": {"e164s": []},
    "GetAllPhoneOnline": {},
    "GetGatewayMappingOnline": {"names": []},
    "GetGatewayRoutingOnline": {"names": []},
    "GetCustomer": {"accounts": []},
    "GetAllCustomers": {"type": 0},
    "CreateCustomer": {"account": "C100", "name": "Customer", "money": "0", "limitMoney": "0", "feeRateGroup": "", "type": 0, "lockType": 0, "memo": ""},
    "ModifyCustomer": {"account": "C100", "limitMoney": "10"},
    "Pay": {"ownerName": "C100", "ownerType": 2, "money": "10", "memo": "top-up"},
    "GetPayHistory": {"account": "C100", "beginTime": "20250101000000", "endTime": "20251231235959"},
    "GetFeeRate": {"feeRateGroup": "", "areaCodes": []},
    "GetAvailableTime": {"account": "C100", "calleeE164": "8613800000000"},
    "GetPerformance": {},
}
# fmt: on
