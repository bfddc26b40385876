"""Exceptions raised by the SIP core."""


class SipError(Exception):
    """Base class of every error the SIP core raises."""


class SipParseError(SipError, ValueError):
    """Bytes or text that do not follow the RFC 3261 grammar (§25) closely enough to use."""
