"""The HTTP edge shared by every blueprint: one error envelope, request ids, body limits,
payload validation and keyset paging."""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from functools import wraps
from typing import Annotated, Any, TypeGuard, TypeVar

import msgspec
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError
from sanic import Request, Sanic
from sanic.exceptions import BadRequest, NotFound, SanicException
from sanic.handlers import ErrorHandler
from sanic.response import HTTPResponse, raw
from sanic.response import json as json_response

from backend.infra.logging import get_logger, request_id_var
from backend.kernel.errors import DomainError, InvalidInput

log = get_logger("http")

# Every JSON answer. msgspec writes what ujson did (UTF-8 as is, "/" unescaped, a Decimal as a
# number) in a quarter of its time: a quote with its promotions is 15 KB, and ujson took 35 µs
# of a server's CPU for its 10 KB of promotions alone (bench/quote_promotions.py).
_ENCODER = msgspec.json.Encoder(decimal_format="number")


def dumps(value: Any, **_: Any) -> bytes:
    """A JSON answer's body (Sanic passes json()'s own keyword arguments, none of ours)."""
    return _ENCODER.encode(value)


REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
# Every id column is a bigint (BigIntField primary keys, and the foreign keys that follow them;
# SQLite's INTEGER is 64-bit too): a larger number can name nothing, and must not reach the
# database, whose driver would fail on it. Path ids (assign_request_id), body and query ids
# (Id) and socket events' ids (is_id) are all held to this one bound.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID, examples=[1])]

# The dates the business can mean. Far outside them Python's own date arithmetic overflows
# (the China day 0001-01-01 in UTC is before year 1), and nothing near them is real anyway.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
DATE_RANGE_MESSAGE = f"日期须在 {FIRST_DAY.isoformat()} 至 {LAST_DAY.isoformat()} 之间"
_FIRST_INSTANT = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC)
_LAST_INSTANT = datetime.combine(LAST_DAY, datetime.max.time(), tzinfo=UTC)
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

# Sanic's own exceptions, rendered with our stable codes and Chinese messages.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("request.bad", "请求格式不正确"),
    401: ("auth.unauthenticated", "请先登录"),
    403: ("auth.forbidden", "没有权限执行此操作"),
    404: ("http.not_found", "请求的地址不存在"),
    405: ("http.method_not_allowed", "不支持该请求方法"),
    408: ("http.request_timeout", "请求超时"),
    413: ("http.payload_too_large", "请求体过大"),
    416: ("http.range_not_satisfiable", "请求范围无效"),
    503: ("service.unavailable", "服务暂时不可用"),
}

# Field-level messages for the pydantic error types people actually hit.
FIELD_MESSAGES = {
    "missing": "必填",
    "extra_forbidden": "不允许的字段",
    "string_too_short": "太短",
    "string_too_long": "太长",
    "string_type": "应为文本",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "bool_type": "应为布尔值",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "greater_than": "数值太小",
    "greater_than_equal": "数值太小",
    "less_than": "数值太大",
    "less_than_equal": "数值太大",
    "string_pattern_mismatch": "格式不正确",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "value_error": "含有不允许的字符或取值",
    "list_type": "应为列表",
    "too_long": "项目过多",
    "too_short": "项目过少",
    "model_type": "应为对象",
    "dict_type": "应为对象",
    "date_out_of_range": DATE_RANGE_MESSAGE,
}


def is_id(value: Any) -> TypeGuard[int]:
    """Whether a socket event's id is one the database could hold (anything else is not
    found, rather than a database error). Booleans are ints to Python, not ids."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _out_of_range() -> PydanticCustomError:
    return PydanticCustomError("date_out_of_range", DATE_RANGE_MESSAGE)


def _within_days(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise _out_of_range()
    return value


def _within_instants(value: datetime) -> datetime:
    # Compared aware, without converting: converting year 1 or 9999 is what overflows.
    if not _FIRST_INSTANT <= value <= _LAST_INSTANT:
        raise _out_of_range()
    return value


# Every date and moment a request carries (query or body) is one of these.
Day = Annotated[date, AfterValidator(_within_days)]
Instant = Annotated[AwareDatetime, AfterValidator(_within_instants)]


class MalformedJson(InvalidInput):
    code = "request.malformed_json"
    message = "请求体不是合法的 JSON"


class BodyTooLarge(DomainError):
    """More bytes than the route takes: a file route's limit, or the JSON one."""

    status = 413
    code = "http.payload_too_large"
    message = "请求体过大"

    def __init__(self, limit: int, *, files: bool) -> None:
        size = f"{limit / (1024 * 1024):g} MB"
        super().__init__(
            f"上传的文件过大，不能超过 {size}" if files else f"请求内容过大，不能超过 {size}"
        )


class EmptyBody(InvalidInput):
    code = "request.empty_body"
    message = "请求体不能为空"


def error_envelope(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _request_id(request: Request | None) -> str:
    if request is not None and hasattr(request.ctx, "request_id"):
        return str(request.ctx.request_id)
    return new_request_id()


def new_request_id() -> str:
    return os.urandom(16).hex()


class EnvelopeErrorHandler(ErrorHandler):
    """Renders every error, including Sanic's own and unexpected ones, in one envelope."""

    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        details: Any = None
        if isinstance(exception, DomainError):
            status, code, message, details = (
                exception.status,
                exception.code,
                exception.text,
                exception.details,
            )
        elif isinstance(exception, BadRequest) and "json" in str(exception).lower():
            status, code, message = 422, MalformedJson.code, MalformedJson.message
        elif isinstance(exception, SanicException) and exception.status_code in HTTP_ERRORS:
            status = exception.status_code
            code, message = HTTP_ERRORS[status]
        elif isinstance(exception, SanicException) and exception.status_code < 500:
            status = exception.status_code
            code, message = f"http.{status}", "请求无法处理"
        else:
            status, code, message = 500, "internal.error", "服务器内部错误，请稍后再试"
            log.exception("unhandled error", exc_info=exception)
        rid = _request_id(request)
        response = json_response(error_envelope(code, message, details), status=status, dumps=dumps)
        response.headers["X-Request-ID"] = rid
        if status == 405 and isinstance(exception, SanicException) and exception.headers:
            response.headers.update(exception.headers)
        return response


async def assign_request_id(request: Request) -> None:
    incoming = request.headers.get("x-request-id", "")
    request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else new_request_id()
    request.ctx.request_id = request_id
    request_id_var.set(request_id)
    if any(isinstance(v, int) and not 0 < v <= MAX_ID for v in request.match_info.values()):
        raise NotFound("no such object")
    # Sanic's own server enforces REQUEST_MAX_SIZE (the largest limit) while reading; under
    # ASGI it does not. Each route is held to its own limit here, in both.
    takes_files = request.route is not None and getattr(request.route.ctx, "large_body", False)
    config = request.app.config
    limit = config.get("UPLOAD_LIMIT" if takes_files else "BODY_LIMIT", config.REQUEST_MAX_SIZE)
    declared = request.headers.get("content-length", "")
    if (declared.isdigit() and int(declared) > limit) or len(request.body or b"") > limit:
        raise BodyTooLarge(limit, files=takes_files)


async def echo_request_id(request: Request, response: HTTPResponse) -> None:
    response.headers["X-Request-ID"] = _request_id(request)


def install_http_edge(app: Sanic) -> None:
    app.error_handler = EnvelopeErrorHandler()
    app.on_request(assign_request_id, priority=100)
    app.on_response(echo_request_id)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


class RequestModel(BaseModel):
    """Base for request payloads: unknown fields are an error, text is trimmed, and text may
    not contain NUL, which PostgreSQL refuses to store (it would surface as a 500)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text must not contain NUL")
        return data


# The notes the documenting decorators leave on a handler (functools.wraps copies them onto
# every wrapper outside it); backend/infra/apidoc.py writes the OpenAPI document from them.
BODY = "_apidoc_body"  # (model, required)
QUERY = "_apidoc_query"  # model
RESPONSES = "_apidoc_responses"  # {status: (model | schema | None, description, media type)}
RAW_BODY = "_apidoc_raw_body"  # {media type: schema}

M = TypeVar("M", bound=BaseModel)
Handler = Callable[..., Awaitable[HTTPResponse]]
H = TypeVar("H", bound=Callable[..., Any])


_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _field_message(err: Any) -> str:
    """What to tell the person about one field: our own validators' Chinese reason (a
    ValueError raised in a model, "同一订单只能出现一次"), else the message for the error type
    (pydantic's own texts are English and stay out)."""
    reason = str((err.get("ctx") or {}).get("error", ""))
    if err["type"] == "value_error" and _CHINESE.search(reason):
        return reason
    return FIELD_MESSAGES.get(err["type"], "格式不正确")


def _field_errors(exc: PydanticValidationError) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(part) for part in err["loc"]) or "body",
            "type": err["type"],
            "message": _field_message(err),
        }
        for err in exc.errors(include_url=False)
    ]


def parse_body(request: Request, model: type[M]) -> M:
    if not request.body:
        raise EmptyBody()
    try:
        data = request.json
    except BadRequest as exc:
        raise MalformedJson() from exc
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise InvalidInput(details=_field_errors(exc)) from exc


def parse_query(request: Request, model: type[M]) -> M:
    raw = {key: values[-1] for key, values in request.args.items()}
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        raise InvalidInput(details=_field_errors(exc)) from exc


def json_body(model: type[M], *, required: bool = True) -> Callable[[Handler], Handler]:
    """Validate the JSON body into `model` and pass it as `body`; the OpenAPI document shows
    `model` as the request body. Not `required`: an empty body is `model()` (its defaults)."""

    def decorator(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            if required or request.body:
                kwargs["body"] = parse_body(request, model)
            else:
                kwargs["body"] = model()
            return await handler(request, *args, **kwargs)

        setattr(wrapper, BODY, (model, required))
        return wrapper

    return decorator


def uploads(
    field: str,
    description: str,
    fields: dict[str, dict[str, Any]] | None = None,
    required: tuple[str, ...] = (),
) -> Callable[[H], H]:
    """Document a multipart upload of one file in form field `field`, with the form's other
    `fields` (name → schema), of which `required` must be sent."""
    file = {"type": "string", "format": "binary", "description": description}
    form = {
        "type": "object",
        "properties": {field: file, **(fields or {})},
        "required": [field, *required],
    }
    return _note(RAW_BODY, {"multipart/form-data": form})


def responds(
    content: type[BaseModel] | dict[str, Any] | None,
    status: int = 200,
    description: str = "成功",
    media_type: str | tuple[str, ...] = "application/json",
) -> Callable[[H], H]:
    """Document a success response: a pydantic model (the shape the handler answers), a
    schema for what is not JSON (files), or None for no body. Repeat for several."""

    def decorator(handler: H) -> H:
        declared = dict(getattr(handler, RESPONSES, {}))
        declared[status] = (content, description, media_type)
        setattr(handler, RESPONSES, declared)
        return handler

    return decorator


def responds_file(*media_types: str, description: str) -> Callable[[H], H]:
    """Document a download: a file of one of `media_types` (CSV, XLSX, PNG...)."""
    return responds({"type": "string", "format": "binary"}, 200, description, media_types)


def attachment(body: bytes, filename: str, content_type: str) -> HTTPResponse:
    """A download the browser saves as `filename` (ASCII), never kept by a cache: exports
    carry one tenant's figures."""
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }
    return raw(body, content_type=content_type, headers=headers)


def _note(attribute: str, value: Any) -> Callable[[H], H]:
    def decorator(handler: H) -> H:
        setattr(handler, attribute, value)
        return handler

    return decorator


def patch_changes(body: BaseModel, nullable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields a PATCH set. An explicit null is allowed only where the value may be empty."""
    changes = body.model_dump(exclude_unset=True)
    nulls = sorted(key for key, value in changes.items() if value is None and key not in nullable)
    if nulls:
        raise InvalidInput(
            details=[
                {"field": key, "type": "null_not_allowed", "message": "不能为空"} for key in nulls
            ]
        )
    return changes


def documented_query(model: type[BaseModel]) -> Callable[[H], H]:
    """Show a query model's fields (types, bounds, choices, descriptions) as the endpoint's
    query parameters in the OpenAPI document; the handler parses it with parse_query."""
    return _note(QUERY, model)


def ok(data: Any, status: int = 200) -> HTTPResponse:
    return json_response(data, status=status, dumps=dumps)


class PageQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")

    after: Id | None = None
    limit: int = DEFAULT_PAGE_SIZE

    def bounded_limit(self) -> int:
        return max(1, min(self.limit, MAX_PAGE_SIZE))


class Listing(BaseModel):
    """What the lists answer: `items`, and the cursor for the next page: `next_after` from
    `page()` (id order) or `next_before` from `newest_first()` (newest first)."""

    model_config = ConfigDict(extra="allow")

    items: list[dict[str, Any]]
    next_after: int | None = Field(default=None, description="下一页传 after=此值；无更多为 null")
    next_before: int | None = Field(default=None, description="下一页传 before=此值；无更多为 null")


def newest_first(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """Keyset page, newest first: the caller asked for limit + 1 rows ordered by id descending
    (`before` the last one shown) to learn if more exist."""
    shown = items[:limit]
    more = len(items) > limit and shown
    return {"items": shown, "next_before": shown[-1]["id"] if more else None}


def page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """Keyset page: the caller asked for limit + 1 rows ordered by id to learn if more exist."""
    has_more = len(items) > limit
    shown = items[:limit]
    return {"items": shown, "next_after": shown[-1]["id"] if has_more and shown else None}
