"""The SIP engine's edge: asyncio transports, timers, process lifecycle, the configuration cache
and its NOTIFY listener, the CDR journal and the Redis counters. Thin by design: protocol logic
lives in `softswitch.sip`, business rules in `softswitch.rules`."""
