"""Run the console under daphne, with clear answers to oversized request heads.

`python -m vosadmin.serve -b HOST -p PORT vosadmin.asgi:application` takes daphne's own
arguments. Twisted, under daphne, reads the request line and each header line into a 16 KB
buffer: a longer line used to drop the connection without a word, and a head over 16 KB got a
bare 400. Django's `RequestLimitsMiddleware` answers URLs over MAX_URL_LENGTH (8 KB) with 414
itself, so only heads too long for Twisted get here: a request line over the buffer gets
"414 URI Too Long", a header line or a whole head over it "431 Request Header Fields Too Large"
(RFC 9110 §15.5.15, RFC 6585 §5), and the connection is closed, as before.
"""

from __future__ import annotations

from twisted.web import http

URI_TOO_LONG = b"HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
)


class ChannelWithLimits(http.HTTPChannel):
    """Twisted's HTTP channel, answering an oversized request head with its own status."""

    def lineLengthExceeded(self, line: bytes) -> None:
        """A line longer than MAX_LENGTH: the request line if no line was read yet."""
        first = self._receivedHeaderSize == 0
        self._refuse(URI_TOO_LONG if first else HEADERS_TOO_LARGE)

    def lineReceived(self, line: bytes) -> None:
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._refuse(HEADERS_TOO_LARGE)
            return
        super().lineReceived(line)

    def _refuse(self, response: bytes) -> None:
        self.transport.write(response)
        self.loseConnection()


def main() -> None:
    """daphne's command line, with every HTTP connection on `ChannelWithLimits`."""
    from daphne.cli import CommandLineInterface

    http.HTTPChannel = ChannelWithLimits  # daphne's factory builds whatever Twisted names so
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
