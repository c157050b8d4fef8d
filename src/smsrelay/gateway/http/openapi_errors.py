"""The error answers every operation of the API may give, written into its OpenAPI document.

FastAPI documents what a route declares; some answers come from the layers around every route
instead: the JSON body middleware (400 ``invalid_json``, 413 ``body_too_large``), the key check
(401 ``unauthorized``, 403 ``forbidden`` for a key without the scope or of another tenant) and
lookups of accounts and resources by name or id (404 ``not_found``). A client generated from
the document, or a schema fuzzer holding the API to it, must find those too, so
:func:`document_errors` adds each, in the one error shape, where an operation does not list it
already.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

__all__ = ["document_errors"]

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
_KEYLESS = ("/v1/providers/",)  # providers' callbacks: signed or tokened, no API key


def _statuses(path: str, operation: dict[str, Any]) -> tuple[int, ...]:
    statuses: list[int] = []
    if "requestBody" in operation:
        statuses += [400, 413]
    if not path.startswith(_KEYLESS):
        statuses += [401, 403]
    statuses.append(404)
    return tuple(statuses)


def document_errors(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the common error answers added to each operation of the API
    (``/send`` and ``/v1/…``); the others (``/healthz``) answer no error."""
    for path, operations in document.get("paths", {}).items():
        if not (path == "/send" or path.startswith("/v1/")):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, operation):
                responses.setdefault(
                    str(status), {"description": HTTPStatus(status).phrase, "content": _ERROR}
                )
    return document
