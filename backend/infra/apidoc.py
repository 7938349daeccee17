"""The OpenAPI document at /docs/openapi.json, written from what the code validates with.

Routes say what they take and give with the HTTP edge's decorators (`json_body`,
`documented_query`, `responds`, `responds_file`, `uploads` in backend/infra/http.py). Each leaves
a note on the handler that `functools.wraps` carries outward through `authenticated` and
the like, so the order of decorators does not matter. At start-up, before sanic-ext builds
the document, `document_api` reads every route's notes and writes its operation: path and
query parameters, request body, the success response, and the error responses in the one
envelope, with the codes the route's module can raise. Every schema comes from the pydantic
models themselves (all at once, so shared models become one component each), converted
from JSON Schema 2020-12 to the OpenAPI 3.0 dialect sanic-ext and Swagger UI speak.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema
from sanic import Sanic
from sanic_ext.extensions.openapi.builders import OperationStore, SpecificationBuilder
from sanic_ext.extensions.openapi.definitions import Parameter
from sanic_ext.utils.route import get_all_routes

from backend.infra.http import (
    BODY,
    MAX_ID,
    QUERY,
    RAW_BODY,
    RESPONSES,
    Listing,
    PageQuery,
)
from backend.infra.idempotency import KeyRequired, KeyReused, StillProcessing
from backend.kernel.errors import DomainError

REF_TEMPLATE = "#/components/schemas/{model}"
ERROR_COMPONENT = "#/components/schemas/ErrorEnvelope"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class FieldError(BaseModel):
    field: str = Field(description="出错的字段，如 lines.0.quantity；整个请求体为 body")
    type: str = Field(description="错误类型，如 missing、less_than_equal、date_out_of_range")
    message: str = Field(description="中文说明")


class ErrorBody(BaseModel):
    code: str = Field(description="稳定的错误码，如 order.not_found；含义永不改变")
    message: str = Field(description="给人看的中文说明")
    details: Any = Field(
        description="request.invalid 时为字段错误列表（FieldError：field、type、message）；"
        "其他错误可能附带细节，或为 null"
    )


class ErrorEnvelope(BaseModel):
    """Every error the API answers, whatever its status."""

    error: ErrorBody


# Statuses any operation can answer, with the edge's own codes for them.
GENERIC_ERRORS: dict[int, tuple[str, list[str]]] = {
    400: ("请求格式不正确", ["request.bad"]),
    401: ("未登录或登录已失效", ["auth.unauthenticated", "auth.session_revoked"]),
    403: ("没有权限（角色或所属组织不符）", ["auth.forbidden"]),
    404: ("对象不存在或不属于当前组织", ["http.not_found", "resource.not_found"]),
    409: ("与当前状态冲突", ["resource.conflict"]),
    413: ("请求体过大", ["http.payload_too_large"]),
    422: (
        "请求数据不合法（details 逐个字段说明）",
        ["request.invalid", "request.malformed_json", "request.empty_body"],
    ),
}


def _domain_errors() -> dict[str, dict[int, list[str]]]:
    """Every DomainError code, by the backend package that defines it and by status."""
    found: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    pending = list(DomainError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        parts = cls.__module__.split(".")
        if parts[0] == "backend" and len(parts) > 1:
            found[parts[1]][cls.status].add(cls.code)
    return {pkg: {st: sorted(codes) for st, codes in by.items()} for pkg, by in found.items()}


NULL = {"type": "null"}


def to_openapi30(schema: Any) -> Any:
    """A pydantic (JSON Schema 2020-12) schema as OpenAPI 3.0 reads it: `nullable` instead
    of a null type, `enum` instead of `const`, boolean exclusive bounds, one `example`."""
    if isinstance(schema, list):
        return [to_openapi30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: to_openapi30(value) for key, value in schema.items() if key != "$defs"}
    for key in ("anyOf", "oneOf"):
        if NULL in schema.get(key, []):
            del out[key]
            out.update(_nullable([o for o in schema[key] if o != NULL]))
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if bound in out and not isinstance(out[bound], bool):
            out[plain], out[bound] = out[bound], True
    examples = out.pop("examples", None)
    if isinstance(examples, list) and examples:
        out["example"] = examples[0]
    return out


def _nullable(options: list[Any]) -> dict[str, Any]:
    """`X or null` as 3.0 says it; a $ref can have no siblings there, so it goes in allOf."""
    converted = to_openapi30(options)
    if len(converted) == 1 and "$ref" not in converted[0]:
        return {**converted[0], "nullable": True}
    if len(converted) == 1:
        return {"allOf": converted, "nullable": True}
    return {"anyOf": converted, "nullable": True}


def _routes(app: Sanic) -> Iterator[tuple[str, str, Any, list[Any]]]:
    seen: set[tuple[str, str]] = set()
    for uri, _name, parameters, method_handlers, _host in get_all_routes(app, "/docs"):
        for method, handler in method_handlers:
            if method in ("HEAD", "OPTIONS") or (uri, method) in seen:
                continue
            seen.add((uri, method))
            yield uri, method, handler, parameters


def _models(notes: Iterable[Any]) -> Iterator[tuple[type[BaseModel], str]]:
    for handler in notes:
        body = getattr(handler, BODY, None)
        if body is not None:
            yield body[0], "validation"
        query = getattr(handler, QUERY, None)
        if query is not None:
            yield query, "validation"
        for content, _description, _media in _declared(handler).values():
            if isinstance(content, type) and issubclass(content, BaseModel):
                yield content, "serialization"
    yield ErrorEnvelope, "serialization"
    yield FieldError, "serialization"


def _query_parameters(model: type[BaseModel], schema: dict[str, Any]) -> list[Parameter]:
    required = set(schema.get("required", []))
    parameters = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        prop = dict(schema.get("properties", {}).get(key, {}))
        prop.pop("title", None)
        description = prop.pop("description", None) or field.description or ""
        parameters.append(
            Parameter(
                key,
                to_openapi30(prop),
                "query",
                description=description,
                required=key in required,
            )
        )
    return parameters


def _error_response(description: str, codes: Iterable[str]) -> dict[str, Any]:
    listed = "、".join(codes)
    return {
        "description": f"{description}。错误码：{listed}" if listed else description,
        "content": {"application/json": {"schema": {"$ref": ERROR_COMPONENT}}},
    }


def _success(content: Any, description: str, media: str | tuple[str, ...]) -> dict[str, Any]:
    if content is None:
        return {"description": description}
    kinds = (media,) if isinstance(media, str) else media
    return {"description": description, "content": {kind: {"schema": content} for kind in kinds}}


class _Schemas:
    """Every model the routes name, turned into schemas in one pass: a model used by several
    routes is one component, and names that clash are told apart by pydantic."""

    def __init__(self, models: list[tuple[type[BaseModel], str]]) -> None:
        keyed, top = models_json_schema(models, ref_template=REF_TEMPLATE)  # type: ignore[arg-type]
        self.keyed: dict[tuple[type[BaseModel], str], dict[str, Any]] = dict(keyed)  # type: ignore[arg-type]
        self.definitions: dict[str, Any] = top.get("$defs", {})

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        return self.keyed[(model, mode)]

    def resolved(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        reference = self.ref(model, mode)
        name = reference.get("$ref", "").rsplit("/", 1)[-1]
        return dict(self.definitions[name]) if name else reference


def _path_parameters(operation: Any, path_parameters: list[Any]) -> None:
    named = {parameter.fields["name"] for parameter in operation.parameters}
    for parameter in path_parameters:
        if parameter.name in named:
            continue
        kind: Any = (
            {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}
            if parameter.cast is int
            else {"type": "string"}
        )
        operation.parameters.append(Parameter(parameter.name, kind, "path", required=True))


def _request_body(handler: Any, schemas: _Schemas) -> dict[str, Any] | None:
    body = getattr(handler, BODY, None)
    if body is not None:
        model, required = body
        media = {"application/json": {"schema": schemas.ref(model, "validation")}}
        return {"required": required, "content": media}
    raw_body = getattr(handler, RAW_BODY, None)
    if raw_body is not None:
        media = {kind: {"schema": schema} for kind, schema in raw_body.items()}
        return {"required": True, "content": media}
    return None


def _declared(handler: Any) -> dict[int, tuple[Any, str, str]]:
    """The success responses a route declared; a route that parses a PageQuery and declares
    nothing answers a list."""
    declared: dict[int, tuple[Any, str, str]] = getattr(handler, RESPONSES, {})
    query = getattr(handler, QUERY, None)
    if declared or query is None or not issubclass(query, PageQuery):
        return declared
    return {200: (Listing, "一页结果", "application/json")}


def _success_responses(handler: Any, schemas: _Schemas) -> dict[str, Any]:
    declared = _declared(handler)
    if not declared:
        # Not described in detail: a JSON object, with whichever 2xx status.
        return {"2XX": _success({"type": "object"}, "成功", "application/json")}
    responses = {}
    for status, (content, description, media) in declared.items():
        is_model = isinstance(content, type) and issubclass(content, BaseModel)
        schema = schemas.ref(content, "serialization") if is_model else content
        responses[str(status)] = _success(schema, description, media)
    return responses


def _error_statuses(
    operation: Any, method: str, has_path: bool, has_body: bool, has_input: bool
) -> set[int]:
    statuses = {400}
    if operation.security:
        statuses |= {401, 403}
    if has_path or method in BODY_METHODS:
        statuses.add(404)
    if method != "GET":
        statuses.add(409)
    if has_body:
        statuses.add(413)
    if has_input:
        statuses.add(422)
    return statuses


# What respond_once and create_once add to an operation that takes an Idempotency-Key.
IDEMPOTENCY_ERRORS: dict[int, list[str]] = {
    KeyRequired.status: [KeyRequired.code],
    KeyReused.status: [KeyReused.code, StillProcessing.code],
}


def _takes_idempotency_key(operation: Any) -> bool:
    return any(p.fields.get("name") == "Idempotency-Key" for p in operation.parameters)


def document_api(app: Sanic) -> None:
    """Write every route's operation from its notes (see the module's docstring). Safe to
    run again (tests build several apps over the same handlers): it only sets values."""
    routes = list(_routes(app))
    schemas = _Schemas(list(dict.fromkeys(_models(handler for _, _, handler, _ in routes))))
    spec = SpecificationBuilder()
    for name, schema in schemas.definitions.items():
        spec.add_component("schemas", name, to_openapi30(schema))
    domain_errors = _domain_errors()
    # The edge's own errors are listed where they apply, not on every route of infra/.
    domain_errors.pop("infra", None)
    store = OperationStore()
    for _uri, method, handler, path_parameters in routes:
        operation = store[handler]
        if operation._exclude or "openapi" in operation.tags:
            continue
        _path_parameters(operation, path_parameters)
        query = getattr(handler, QUERY, None)
        if query is not None:
            named = {parameter.fields["name"] for parameter in operation.parameters}
            for parameter in _query_parameters(query, schemas.resolved(query, "validation")):
                if parameter.fields["name"] not in named:
                    operation.parameters.append(parameter)
        body = _request_body(handler, schemas)
        if body is not None:
            operation.requestBody = body
        responses = _success_responses(handler, schemas)
        module = handler.__module__.split(".")
        module_errors = domain_errors.get(module[1], {}) if module[0] == "backend" else {}
        has_input = body is not None or query is not None or bool(path_parameters)
        statuses = _error_statuses(
            operation, method, bool(path_parameters), body is not None, has_input
        )
        edge_errors = IDEMPOTENCY_ERRORS if _takes_idempotency_key(operation) else {}
        for status in sorted(statuses | set(module_errors) | set(edge_errors)):
            description, codes = GENERIC_ERRORS.get(status, ("请求无法完成", []))
            listed = [*codes, *edge_errors.get(status, []), *module_errors.get(status, [])]
            responses[str(status)] = _error_response(description, dict.fromkeys(listed))
        operation.responses = responses
