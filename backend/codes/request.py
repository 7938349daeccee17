"""How every codes route reads its payload and query: any problem (malformed, missing,
wrong type, out of bounds) is 400 codes.invalid with details [{field, message}] in Chinese,
the first message as the error's own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import wraps
from typing import Any, TypeVar

from pydantic import BaseModel
from sanic import Request
from sanic.response import HTTPResponse

from backend.codes.errors import Invalid
from backend.infra.http import BODY, parse_body, parse_query
from backend.kernel.errors import InvalidInput

Handler = Callable[..., Awaitable[HTTPResponse]]
M = TypeVar("M", bound=BaseModel)


def invalid(exc: InvalidInput, hints: Mapping[str, str] | None = None) -> Invalid:
    """The edge's problem as codes.invalid; `hints` say in a person's words what a field
    must be, in place of the generic message."""
    details = [
        {"field": item["field"], "message": (hints or {}).get(item["field"], item["message"])}
        for item in exc.details or [{"field": "body", "message": exc.text}]
    ]
    return Invalid(details[0]["message"], details=details)


def codes_body(
    model: type[M], hints: Mapping[str, str] | None = None, *, required: bool = True
) -> Callable[[Handler], Handler]:
    """Like json_body (the payload as `body`, documented the same way; not `required`: an
    empty body is `model()`), with its problems as codes.invalid."""

    def decorator(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            try:
                kwargs["body"] = parse_body(request, model) if required or request.body else model()
            except InvalidInput as exc:
                raise invalid(exc, hints) from exc
            return await handler(request, *args, **kwargs)

        setattr(wrapper, BODY, (model, required))
        return wrapper

    return decorator


def codes_query(request: Request, model: type[M]) -> M:
    """The query string as `model`, its problems as codes.invalid."""
    try:
        return parse_query(request, model)
    except InvalidInput as exc:
        raise invalid(exc) from exc
