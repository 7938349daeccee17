"""/docs/openapi.json describes every operation from the models the code validates with:
parameters, request bodies, success and error responses, as a valid OpenAPI 3 document."""

from __future__ import annotations

import contextlib
import inspect
import re
from typing import Any

import httpx
from openapi_spec_validator import validate
from sanic_ext.utils.route import get_all_routes

from backend.infra import apidoc

# What a handler does when it reads a request body or a query string itself.
READS_BODY = re.compile(r"request\.(json|form|files|body)\b|parse_body\(")
READS_QUERY = re.compile(r"parse_query\(|request\.args")


def _sources(handler: Any) -> str:
    """The source of the handler and of every wrapper around it."""
    texts = []
    while handler is not None:
        with contextlib.suppress(OSError, TypeError):  # builtins and partials have none
            texts.append(inspect.getsource(handler))
        handler = getattr(handler, "__wrapped__", None)
    return "\n".join(texts)


def _handlers(app: Any) -> dict[tuple[str, str], Any]:
    return {
        (uri, method.lower()): handler
        for uri, _name, _params, method_handlers, _host in get_all_routes(app, "/docs")
        for method, handler in method_handlers
    }


async def test_every_operation_documents_its_inputs_and_responses(
    client: httpx.AsyncClient, app: Any
) -> None:
    spec = (await client.get("/docs/openapi.json")).json()
    validate(spec)  # a valid OpenAPI 3.0 document, every $ref resolving
    assert spec["components"]["schemas"]["ErrorEnvelope"]["required"] == ["error"]
    handlers = _handlers(app)
    problems = []
    operations = 0
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            operations += 1
            where = f"{method.upper()} {path}"
            source = _sources(handlers[(path, method)])
            responses = operation.get("responses", {})
            if not any(status.startswith("2") for status in responses):
                problems.append(f"{where}: no success response")
            errors = [status for status in responses if status[0] in "45"]
            if not errors or any(
                responses[s]["content"]["application/json"]["schema"]
                != {"$ref": apidoc.ERROR_COMPONENT}
                for s in errors
            ):
                problems.append(f"{where}: errors not in the shared envelope")
            if "security" in operation and "401" not in responses:
                problems.append(f"{where}: secured without a 401")
            content = operation.get("requestBody", {}).get("content", {})
            documented_body = any(media.get("schema") for media in content.values())
            if READS_BODY.search(source) and not documented_body:
                problems.append(f"{where}: reads a body with no requestBody schema")
            queries = [p for p in operation.get("parameters", []) if p["in"] == "query"]
            if READS_QUERY.search(source) and not queries:
                problems.append(f"{where}: reads a query with no query parameters")
            for name in re.findall(r"{(\w+)}", path):
                if not any(
                    p["in"] == "path" and p["name"] == name for p in operation["parameters"]
                ):
                    problems.append(f"{where}: path parameter {name} undocumented")
    assert operations > 100
    assert problems == []


async def test_documented_shapes_come_from_the_models(client: httpx.AsyncClient) -> None:
    from backend.ordering.routes import OrderQuery, QuoteBody

    spec = (await client.get("/docs/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    quote = spec["paths"]["/api/v1/quote"]["post"]
    assert quote["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/QuoteBody"
    }
    assert set(schemas["QuoteBody"]["properties"]) == set(QuoteBody.model_fields)
    # Shared models are one component, referenced (3.0: no null type, `nullable` instead).
    assert schemas["QuoteBody"]["properties"]["lines"]["items"] == {
        "$ref": "#/components/schemas/LineBody"
    }
    coupon = schemas["QuoteBody"]["properties"]["coupon_id"]
    assert coupon["nullable"] is True and coupon["maximum"] == 2**63 - 1
    listed = {p["name"]: p for p in spec["paths"]["/api/v1/orders"]["get"]["parameters"]}
    assert set(OrderQuery.model_fields) <= set(listed)
    assert listed["status"]["schema"]["enum"][:2] == ["pending_payment", "paid"]
    assert listed["created_from"]["schema"]["format"] == "date"
    order_id = spec["paths"]["/api/v1/orders/{order_id}"]["get"]["parameters"][0]
    assert order_id["schema"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": 2**63 - 1,
    }
    assert order_id["required"] is True
    # Errors: the codes of the route's own module are listed with the status they come with.
    get_order = spec["paths"]["/api/v1/orders/{order_id}"]["get"]["responses"]
    assert "order.not_found" in get_order["404"]["description"]
    assert "auth.unauthenticated" in get_order["401"]["description"]
    # A multipart upload documents its form.
    upload = spec["paths"]["/api/v1/complaints/photos"]["post"]["requestBody"]["content"]
    assert upload["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    # The WeChat sandboxes play WeChat, not us: not in our API's document.
    assert not [path for path in spec["paths"] if path.startswith("/wx-sandbox")]


async def test_central_answers_match_their_documented_models(client, sandbox_client) -> None:
    """The response models the document shows are the shape the code answers (checked here
    on a real order's way, and on every answer the fuzzing test gets)."""
    from backend.identity.responses import Identity, Tokens
    from backend.infra.http import Listing
    from backend.ordering.responses import Order, PricedCart
    from backend.payments.responses import Prepay
    from tests.factories import bearer, idempotent, make_shop, staff_headers, store_owner

    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    Tokens.model_validate(owner)
    headers = bearer(owner)
    Identity.model_validate((await client.get("/api/v1/auth/session", headers=headers)).json())
    cart = await client.put(
        f"/api/v1/cart/items/{shop.water}", json={"quantity": 2}, headers=headers
    )
    PricedCart.model_validate(cart.json())
    quote = await client.post(
        "/api/v1/quote",
        json={"lines": [{"sku_id": shop.water, "quantity": 1}, {"sku_id": 10**9, "quantity": 1}]},
        headers=headers,
    )
    PricedCart.model_validate(quote.json())  # with an unknown SKU's line in it
    placed = await client.post("/api/v1/orders", json={}, headers=idempotent(owner))
    assert placed.status_code == 201, placed.text
    order = Order.model_validate(placed.json())
    Order.model_validate((await client.get(f"/api/v1/orders/{order.id}", headers=headers)).json())
    Listing.model_validate((await client.get("/api/v1/orders", headers=headers)).json())
    prepay = await client.post(f"/api/v1/orders/{order.id}/pay", headers=headers)
    assert prepay.status_code == 200, prepay.text
    assert Prepay.model_validate(prepay.json()).request_payment
    admin = await staff_headers(client, shop.tenant.admin_username)
    accepted = await client.get("/api/v1/stores", headers=admin)
    Listing.model_validate(accepted.json())
