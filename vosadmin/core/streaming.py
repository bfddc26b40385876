"""Streamed response bodies that read the database as they go (the CDR CSV export, the Web
API's GetCdr): a generator holding a server-side cursor yields the chunks.

Under WSGI the server iterates the generator in the request's thread, as it is. Under ASGI
(daphne, `make run`) Django would read a synchronous iterator to its end before sending
anything, so there each chunk is pulled through `sync_to_async(thread_sensitive=True)`: in the
request's sync thread, whose database connection holds the cursor's transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest


def streaming_body(
    request: HttpRequest, chunks: Iterator[bytes]
) -> Iterator[bytes] | AsyncIterator[bytes]:
    """`chunks` as `request`'s server needs them, for a StreamingHttpResponse."""
    return pull_in_thread(chunks) if isinstance(request, ASGIRequest) else chunks


async def pull_in_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The chunks for an ASGI server, each read in the request's sync thread; closing (the
    client gone, or the end) closes the generator there too, ending its transaction."""
    next_chunk = sync_to_async(next, thread_sensitive=True)
    try:
        while (chunk := await next_chunk(chunks, None)) is not None:
            yield chunk
    finally:
        await sync_to_async(chunks.close, thread_sensitive=True)()


def started(chunks: Generator[bytes, None, None]) -> Generator[bytes, None, None]:
    """`chunks` with its first chunk made now, in the caller's `try`: the query behind a stream
    runs for its first chunk, and failing there it can still be answered as an error, where
    once the response has started it could only be cut short."""
    first = next(chunks)

    def all_chunks() -> Generator[bytes, None, None]:
        try:
            yield first
            yield from chunks
        finally:
            chunks.close()

    return all_chunks()
