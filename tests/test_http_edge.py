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
    assert schema == {"$ref": "#/components/schemas/StaffLoginBody"}
    assert "username" in spec["components"]["schemas"]["StaffLoginBody"]["properties"]
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


async def test_dates_outside_the_business_range_are_422_not_500(client) -> None:
    from backend.infra.http import DATE_RANGE_MESSAGE
    from backend.promotions.models import Promotion
    from tests.factories import make_tenant, staff_headers

    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    # Year 1 and year 9999 once overflowed Python's date arithmetic (China day → UTC).
    for url in (
        "/api/v1/orders?created_from=0001-01-01",
        "/api/v1/orders?created_to=9999-12-31",
        "/api/v1/orders/summary?created_from=1999-12-31",
        "/api/v1/orders/export?created_to=2101-01-01",
        "/api/v1/complaints?sort=due&due_after=9999-12-31T23:59:59-12:00",
    ):
        error = assert_envelope(await client.get(url, headers=headers), 422, "request.invalid")
        assert error["details"][0]["type"] == "date_out_of_range", url
        assert error["details"][0]["message"] == DATE_RANGE_MESSAGE
    within = "/api/v1/orders?created_from=2000-01-01&created_to=2100-12-31"
    assert (await client.get(within, headers=headers)).status_code == 200
    # The same bound holds for every moment in a body.
    body = {
        "name": "远古满减",
        "starts_at": "0001-01-01T00:00:00+14:00",
        "ends_at": "9999-12-31T23:59:59-12:00",
        "reward": {"kind": "reduction", "threshold_fen": 100, "amount_off_fen": 10},
    }
    refused = await client.post("/api/v1/promotions", json=body, headers=headers)
    error = assert_envelope(refused, 422, "request.invalid")
    assert {d["field"] for d in error["details"]} == {"starts_at", "ends_at"}
    assert await Promotion.all().count() == 0


async def test_coupon_ids_beyond_32_bits_are_not_a_500(client, sandbox_client) -> None:
    from backend.ordering.models import Order
    from tests.factories import bearer, idempotent, make_shop, store_owner

    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    await client.put(
        f"/api/v1/cart/items/{shop.water}", json={"quantity": 1}, headers=bearer(owner)
    )
    lines = [{"sku_id": shop.water, "quantity": 1}]
    # Ids are bigints: 2^31 names no coupon here (PostgreSQL once took it for a 32-bit int).
    for coupon_id in (2**31, 2**63 - 1):
        cart = await client.get(f"/api/v1/cart?coupon_id={coupon_id}", headers=bearer(owner))
        assert cart.status_code == 200, cart.text
        quote = await client.post(
            "/api/v1/quote", json={"lines": lines, "coupon_id": coupon_id}, headers=bearer(owner)
        )
        assert quote.status_code == 200, quote.text
        placed = await client.post(
            "/api/v1/orders", json={"coupon_id": coupon_id}, headers=idempotent(owner)
        )
        assert 400 <= placed.status_code < 500, placed.text
    # Past the bigint range it can name nothing at all: refused before any lookup.
    too_big = 2**63
    assert_envelope(
        await client.get(f"/api/v1/cart?coupon_id={too_big}", headers=bearer(owner)),
        422,
        "request.invalid",
    )
    assert_envelope(
        await client.post("/api/v1/orders", json={"coupon_id": too_big}, headers=idempotent(owner)),
        422,
        "request.invalid",
    )
    assert await Order.all().count() == 0


async def test_socket_event_ids_beyond_bigint_are_not_found(
    platform_url, client, sandbox_client, deps
) -> None:
    from tests.test_live_room import Viewer, live_session, token

    _, host, session, _ = await live_session(client, sandbox_client, deps)
    hosting = await Viewer().connect(platform_url, token(host))
    huge = 2**70
    try:
        missing = await hosting.call("join", {"session_id": huge})
        assert missing["error"]["code"] == "live.session_not_found"
        assert (await hosting.call("join", {"session_id": session["id"]}))["ok"]
        assert (await hosting.call("host:start"))["ok"]
        product = await hosting.call("host:push_product", {"product_id": huge})
        assert product["error"]["code"] == "live.product_not_found"
        draw = await hosting.call("host:draw_announce", {"draw_id": huge})
        assert draw["error"]["code"] == "live.draw_not_found"
        mute = await hosting.call("host:mute", {"user_id": huge})
        assert mute["error"]["code"] == "request.invalid"
    finally:
        await hosting.client.disconnect()
