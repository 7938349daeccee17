"""Every operation in /docs/openapi.json, driven by schemathesis as three roles (a brand admin,
a distributor admin, a store owner): its coverage phase sends each parameter's and body
field's boundary values and malformed ones (missing, wrong type, out of range), its fuzzing
phase a bounded number of generated cases. No answer may be a 5xx, and every answer must be
one the document describes (status, content type, schema).

Deterministic (the same cases every run), on the embedded default only: the PostgreSQL run
of the suite skips it to keep CI time (B2BC_FUZZ_POSTGRES=1 runs it there by hand).
The app is served in the tests' own loop (`live_api`); schemathesis runs as its command line
in a subprocess against it, so its engine and phases are the ones people run by hand."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time

import pytest

from tests.conftest import ON_POSTGRES
from tests.factories import bearer, distributor_admin, make_shop, staff_headers, store_owner

pytest.importorskip("schemathesis")

pytestmark = pytest.mark.skipif(
    ON_POSTGRES and not os.environ.get("B2BC_FUZZ_POSTGRES"),
    reason="embedded default only (CI time)",
)

# Generated cases per operation in the fuzzing phase (the coverage phase sends what the
# schema's boundaries call for). B2BC_FUZZ_EXAMPLES raises it for a deeper run by hand.
EXAMPLES = os.environ.get("B2BC_FUZZ_EXAMPLES", "5")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
# Signing out ends the session the other operations run with.
EXCLUDED = ("/api/v1/auth/logout",)
SCHEMATHESIS = "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())"


async def _schemathesis(url: str, authorization: str) -> tuple[int, str]:
    arguments = [
        "run",
        f"{url}/docs/openapi.json",
        "--phases=coverage,fuzzing",
        f"--max-examples={EXAMPLES}",
        "--generation-deterministic",
        f"--checks={','.join(CHECKS)}",
        "--workers=1",
        "--no-color",
        f"--header=Authorization:{authorization}",
        *(f"--exclude-path={path}" for path in EXCLUDED),
    ]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SCHEMATHESIS,
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        # Its working folder gets a cache of past failures that it would replay: a fresh one
        # each run keeps the cases the same every run, and the repository clean.
        cwd=tempfile.mkdtemp(prefix="b2bc-schemathesis-"),
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode(errors="replace")


async def test_no_operation_answers_5xx_or_off_the_document(
    client, sandbox_client, live_api
) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    roles = {
        "brand_admin": await staff_headers(client, shop.tenant.admin_username),
        "distributor_admin": await distributor_admin(client, shop),
        "store_owner": bearer(owner),
    }
    started = time.monotonic()
    for role, headers in roles.items():
        status, output = await _schemathesis(live_api, headers["Authorization"])
        summary = output[output.rfind("=" * 20 + " SUMMARY") :]
        print(f"[{role}]\n{summary}")
        assert status == 0, f"as {role}:\n{output[-12000:]}"
    print(f"schemathesis: {time.monotonic() - started:.0f} s for three roles")
