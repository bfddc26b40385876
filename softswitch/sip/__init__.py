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
"""
