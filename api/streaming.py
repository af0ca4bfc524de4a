"""A streamed answer that lets go of what it holds however it ends."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Any

import anyio
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class ReleasingStreamingResponse(StreamingResponse):
    """A ``StreamingResponse`` that awaits ``release`` once it is over, however it ended.

    Cleanup in the body's own ``finally`` runs only if the body started. A client that
    leaves while the headers are on their way cancels the response before its first chunk
    is asked for, and an async generator never started never runs its ``finally``: an
    export held its slot and its connection for good (four such and every export answered
    503), a streamed page its pooled connection. ``release`` is awaited once; a body that
    also lets go at its own end (a streamed page's rows) must leave it safe to await after.
    """

    def __init__(
        self,
        content: AsyncIterable[bytes],
        release: Callable[[], Awaitable[None]],
        **kwargs: Any,
    ) -> None:
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:  # shielded: the response may end by being cancelled
            with anyio.CancelScope(shield=True):
                await self._release()
