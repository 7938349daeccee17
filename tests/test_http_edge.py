"""The HTTP edge: one error envelope for everything, request ids, health and readiness."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from backend.infra.logging import RequestIdFilter, logging_config


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"] and all(ord(ch) < 128 for ch in error["message"]) is False  # Chinese
    return error


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


async def test_readyz_reports_unreachable_redis(client: httpx.AsyncClient, app, deps) -> None:
    from backend.infra.redis import create_redis

    working = deps.redis
    deps.redis = create_redis("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        response = await client.get("/readyz")
    finally:
        await deps.redis.aclose()
        deps.redis = working
    error = assert_envelope(response, 503, "service.not_ready")
    assert error["details"] == {"database": "ok", "redis": "unreachable"}


async def test_unknown_route_is_404_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert_envelope(response, 404, "http.not_found")
    assert response.headers["x-request-id"]


async def test_wrong_method_is_405_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.delete("/healthz"), 405, "http.method_not_allowed")


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/staff/login",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_envelope(response, 422, "request.malformed_json")


async def test_empty_body_is_422(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.post("/api/v1/auth/staff/login"), 422, "request.empty_body")


@pytest.mark.parametrize(
    ("payload", "field", "error_type"),
    [
        ({"username": "a"}, "password", "missing"),
        ({"username": 5, "password": "x"}, "username", "string_type"),
        ({"username": "a", "password": "x", "extra": 1}, "extra", "extra_forbidden"),
        ({"username": "a" * 65, "password": "x"}, "username", "string_too_long"),
        ([1, 2], "body", "model_type"),
    ],
)
async def test_invalid_payload_is_422_with_field_details(
    client: httpx.AsyncClient, payload: object, field: str, error_type: str
) -> None:
    error = assert_envelope(
        await client.post("/api/v1/auth/staff/login", json=payload), 422, "request.invalid"
    )
    assert {"field": field, "type": error_type} in [
        {"field": d["field"], "type": d["type"]} for d in error["details"]
    ]


async def test_oversized_body_is_413(client: httpx.AsyncClient, settings) -> None:
    body = b'{"username": "' + b"x" * settings.max_body_bytes + b'", "password": "p"}'
    response = await client.post(
        "/api/v1/auth/staff/login", content=body, headers={"content-type": "application/json"}
    )
    assert_envelope(response, 413, "http.payload_too_large")


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    # Not echoed into our logs and headers: replaced by an id of our own.
    hostile = await client.get("/healthz", headers={"X-Request-ID": "bad id; drop" + "x" * 80})
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])


async def test_unexpected_error_is_500_envelope_without_internals() -> None:
    from asgi_lifespan import LifespanManager
    from sanic import Sanic

    from backend.infra.http import install_http_edge

    # The envelope comes from the HTTP edge alone, so a bare app with it shows the behaviour.
    application = Sanic("b2bc_explode")
    application.config.TOUCHUP = False
    install_http_edge(application)

    @application.get("/__test__/explode")
    async def explode(request):  # fails the way a bug would
        raise RuntimeError("secret internals")

    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/__test__/explode")
    error = assert_envelope(response, 500, "internal.error")
    assert "secret" not in response.text
    assert error["details"] is None
    assert response.headers["x-request-id"]


def test_log_lines_are_json_with_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    import logging.config

    from backend.infra.logging import request_id_var

    logging.config.dictConfig(logging_config("INFO"))
    token = request_id_var.set("req-42")
    try:
        logging.getLogger("b2bc.test").info("订单已创建", extra={"order_id": 7})
    finally:
        request_id_var.reset(token)
        logging.config.dictConfig(logging_config("WARNING"))
    line = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "订单已创建"
    assert record["request_id"] == "req-42"
    assert record["order_id"] == 7
    assert record["level"] == "INFO"
    outside = logging.LogRecord("x", logging.INFO, "", 0, "", None, None)
    assert RequestIdFilter().filter(outside) and outside.request_id == "-"  # not in a request


async def test_openapi_documents_request_bodies(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/docs/openapi.json")).json()
    login = spec["paths"]["/api/v1/auth/staff/login"]["post"]
    schema = login["requestBody"]["content"]["application/json"]["schema"]
    assert "username" in json.dumps(schema)
    listed = {p["name"] for p in spec["paths"]["/api/v1/orders"]["get"]["parameters"]}
    assert {"status", "channel", "created_from", "before", "limit"} <= listed
    page = await client.get("/docs/swagger")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(url.startswith("/") for url in assets), assets  # nothing from a CDN
    for url in assets:
        assert (await client.get(url)).status_code == 200, url
    assert (await client.get("/docs-assets/swagger-ui/../../secrets.json")).status_code == 404


async def test_ids_beyond_bigint_are_refused_before_the_database(client) -> None:
    from tests.factories import make_tenant, staff_headers

    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    huge = 10**20
    cases = [
        ("get", f"/api/v1/stores/{huge}", None, 404),
        ("get", f"/api/v1/orders/{huge}", None, 404),
        ("get", f"/api/v1/orders?store_id={huge}", None, 422),
        ("get", f"/api/v1/stores?after={huge}", None, 422),
        ("patch", f"/api/v1/stores/{tenant.store.id}", {"salesperson_id": huge}, 422),
        ("post", "/api/v1/distributors", {"name": "新", "region_ids": [huge]}, 422),
    ]
    for method, url, body, status in cases:
        kwargs = {"json": body} if body is not None else {}
        response = await getattr(client, method)(url, headers=headers, **kwargs)
        assert response.status_code == status, (url, response.text)


async def test_nul_characters_are_422_not_500(client) -> None:
    from tests.factories import make_tenant, staff_headers

    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    region = await client.post("/api/v1/regions", json={"name": "华\u0000东"}, headers=headers)
    query = await client.get("/api/v1/stores?name=a%00b", headers=headers)
    login = await client.post(
        "/api/v1/auth/staff/login", json={"username": "a\u0000", "password": "x"}
    )
    assert [r.status_code for r in (region, query, login)] == [422, 422, 422]
    assert region.json()["error"]["details"][0]["message"] == "含有不允许的字符或取值"
