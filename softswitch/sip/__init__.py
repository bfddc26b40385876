"""The sans-IO SIP core of the softswitch: no sockets, no asyncio, no clock, no Django.

Modules, in the order a received datagram meets them:

- parser: try_parse_message() -> Request | Response | Malformed (parse_message raises)
- message: Request and Response, their accessors, validate(), to_bytes();
  build_response(); add_received_rport()
- reasons: the reason phrase of each status code
- stream: StreamFramer turns TCP chunks into messages and CRLF keep-alives
- transaction: the RFC 3261 §17 state machines and their matching keys
- dialog: dialog state of a B2BUA leg, in-dialog requests, CANCEL, 2xx retransmission
- digest: stateless digest challenges and verification, and the client side
- sdp: finding SDP and telling whether it holds the call
- uri, fields, headers, syntax: the values the above are made of
- ids: tags, branches and Call-IDs from an injectable random source
- frozen: quicker construction of the frozen value classes parsing makes for every message

The core is mypy-strict so that it can also run compiled: `make native` (run by `make run` and
`make test`) compiles these modules with mypyc into `var/sip-native/`, with the dispatcher's
loop in C (`softswitch/engine/relay.c`, `EXTENSION_SOURCES`), and importing this package puts
that build ahead of the sources when it was built from exactly the sources here.
Anything else — no build, a stale one (a module edited since), another Python, or
`SIP_NATIVE=0` — runs the pure-Python modules, which are the reference (docs/adr/0009).
"""

import hashlib
import os
import sys
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent
NATIVE_DIR = (
    Path(os.environ.get("VOSADMIN_VAR_DIR", SOURCE_DIR.parents[1] / "var"))
    / "sip-native"
    / "softswitch"
    / "sip"
)
NATIVE_STAMP = NATIVE_DIR / "SOURCES"
# C written as such, built with the core and current or stale with it: the engine's dispatcher
# loop (softswitch.engine.dispatcher loads it from NATIVE_DIR's sibling `engine`).
EXTENSION_SOURCES = [SOURCE_DIR.parent / "engine" / "relay.c"]


def compiled_sources() -> list[Path]:
    """The modules `make native` compiles: all of the package but this file."""
    return sorted(path for path in SOURCE_DIR.glob("*.py") if path.name != "__init__.py")


def source_digest() -> str:
    """One digest of the interpreter and the compiled modules' (and C extensions') names and
    contents: a build is current if it matches (a build for another Python is as stale as one
    of other sources)."""
    digest = hashlib.sha256(sys.version.encode() + b"\0")
    for path in [*compiled_sources(), *EXTENSION_SOURCES]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def native_status() -> str:
    """Whether a process importing the package now would run the compiled core, and why."""
    if os.environ.get("SIP_NATIVE", "1") == "0":
        return "pure Python (SIP_NATIVE=0)"
    try:
        built_from = NATIVE_STAMP.read_text().strip()
    except OSError:
        return "pure Python (no native build: make native)"
    if built_from != source_digest():
        return "pure Python (the native build is stale: make native)"
    return f"compiled ({NATIVE_DIR})"


# What this process runs, decided once at import (the stamp may change while it runs).
NATIVE_STATUS = native_status()
if NATIVE_STATUS.startswith("compiled"):
    __path__.insert(0, str(NATIVE_DIR))
