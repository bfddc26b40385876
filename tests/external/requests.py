"""Request bodies as VOS3000's client libraries send them (SPEC §9; field names and shapes of
the public VOS3000 Web API clients: lists of strings, dates as text, numbers often as text)."""

GET_CDR = {
    "accounts": ["C100"],
    "callerE164": "",
    "calleeE164": "",
    "callerGateway": "",
    "calleeGateway": "",
    "beginTime": "20251126",
    "endTime": "20251126",
}
GET_CURRENT_CALL = {
    "callerE164s": [],
    "calleeE164s": [],
    "gatewayMappingName": "",
    "gatewayRoutingName": "",
}
DISCONNECT_CURRENT_CALL = {"callIds": ["call-1@198.51.100.20"]}
GET_PHONE_ONLINE = {"e164s": ["1001"]}
GET_GATEWAY_ONLINE = {"names": ["GW-CUSTOMER"]}
GET_CUSTOMER = {"accounts": ["C100"]}
GET_ALL_CUSTOMERS = {"type": "0"}
CREATE_CUSTOMER = {
    "account": "C200",
    "name": "Beta Telecom",
    "money": "50",
    "limitMoney": "10",
    "feeRateGroup": "RETAIL",
    "type": 0,
    "lockType": 0,
    "memo": "from the portal",
}
MODIFY_CUSTOMER = {"account": "C100", "limitMoney": "30", "lockType": "1", "memo": "late payer"}
PAY = {"ownerName": "C100", "ownerType": 2, "money": "25.5", "memo": "bank transfer 4711"}
GET_PAY_HISTORY = {"account": "C100", "beginTime": "20250101000000", "endTime": "20991231235959"}
GET_FEE_RATE = {"feeRateGroup": "RETAIL", "areaCodes": ["86"]}
GET_AVAILABLE_TIME = {"account": "C100", "calleeE164": "8613800000000"}
GET_PERFORMANCE: dict = {}

EVERY_CALL = {
    "GetCdr": GET_CDR,
    "GetCurrentCall": GET_CURRENT_CALL,
    "DisconnectCurrentCall": DISCONNECT_CURRENT_CALL,
    "GetPhoneOnline": GET_PHONE_ONLINE,
    "GetAllPhoneOnline": {},
    "GetGatewayMappingOnline": GET_GATEWAY_ONLINE,
    "GetGatewayRoutingOnline": GET_GATEWAY_ONLINE,
    "GetCustomer": GET_CUSTOMER,
    "GetAllCustomers": GET_ALL_CUSTOMERS,
    "CreateCustomer": CREATE_CUSTOMER,
    "ModifyCustomer": MODIFY_CUSTOMER,
    "Pay": PAY,
    "GetPayHistory": GET_PAY_HISTORY,
    "GetFeeRate": GET_FEE_RATE,
    "GetAvailableTime": GET_AVAILABLE_TIME,
    "GetPerformance": GET_PERFORMANCE,
}
