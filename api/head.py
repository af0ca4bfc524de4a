"""HEAD on every GET route (RFC 9110, 9.3.2): the status and headers GET would send, no body.

FastAPI's routes answer GET alone, so HEAD was a 405 on every page, item, tile and
``/health``: an uptime check or ``curl -I`` read a healthy service as broken.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Set in the scope a route sees for HEAD: a route whose body is costly (an export) can
# answer with its headers alone instead of computing a body nobody receives.
HEAD_KEY = "onemap.head"


def is_head(request: Request) -> bool:
    """Whether the client asked HEAD (the route itself sees GET)."""
    return bool(request.scope.get(HEAD_KEY))


class HeadAsGet:
    """A plain ASGI middleware: HEAD runs the GET route, and the body is left out.

    The route runs to its end: stopping a streamed body half-way left its generator, and
    the connection it holds, to the garbage collector.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
            elif not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET", HEAD_KEY: True}, receive, headers_only)
