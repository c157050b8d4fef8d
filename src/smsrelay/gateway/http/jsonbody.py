"""Read every POST body as JSON, whatever Content-Type the client sent.

``curl -d '{...}'`` sends ``application/x-www-form-urlencoded`` unless told otherwise; answering
that with a puzzling type error would punish the most common first request. The API only
speaks JSON, so the body is parsed as JSON and a body that is not JSON gets ``invalid_json``.

The exception is ``/v1/providers/``: HTTP providers call back in their own formats (forms,
JSON, signed over the exact parameters), and their Content-Type is what says which.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

_JSON = (b"content-type", b"application/json")
_PROVIDER_CALLBACKS = "/v1/providers/"


class JsonBodyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("POST", "PUT", "PATCH")
            and not scope["path"].startswith(_PROVIDER_CALLBACKS)
        ):
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            headers.append(_JSON)
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)
