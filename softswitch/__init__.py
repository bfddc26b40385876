"""The softswitch: gateways, phones, registrations and calls (console side), and the SIP engine
(`softswitch.sip` — the pure protocol core; `softswitch.engine` — the asyncio edge)."""
