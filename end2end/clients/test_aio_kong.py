"""aio-kong, an independent async client of Kong's Admin API, against Gatehouse: create, list, update and
delete of each entity type it supports (plugins and ACLs wait for the plugins that own them)."""

import asyncio
import subprocess
import tempfile
import os

from kong.client import Kong, KongResponseError


def run(coroutine):
    return asyncio.run(coroutine)


def self_signed(name: str) -> tuple[str, str]:
    folder = tempfile.mkdtemp()
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
         "-days", "2", "-subj", f"/CN={name}"],
        check=True, capture_output=True,
    )
    return open(cert).read(), open(key).read()


def test_services_routes_and_pagination(admin_url):
    async def scenario():
        async with Kong(url=admin_url) as cli:
            service = await cli.services.create(name="billing", host="billing.internal", port=8080)
            assert service["protocol"] == "http" and service["retries"] == 5
            assert (await cli.services.get("billing")).id == service.id
            assert await cli.services.has("billing") and not await cli.services.has("nope")

            updated = await cli.services.update("billing", path="/v1")
            assert updated["path"] == "/v1" and updated["port"] == 8080

            route = await service.routes.create(name="billing-api", paths=["/billing"], methods=["GET"])
            assert route["service"]["id"] == service.id
            assert [r.name for r in await service.routes.get_list()] == ["billing-api"]
            assert (await cli.routes.update(route.id, strip_path=False))["strip_path"] is False

            for n in range(150):
                await cli.services.create(name=f"bulk-{n:03}", host="bulk.internal")
            names = [s.name for s in await cli.services.get_full_list()]
            assert len(names) == 151 and len(set(names)) == 151

            # Services.delete removes the service's routes and plugins first, as Kong needs.
            await cli.services.delete("billing")
            assert not await cli.services.has("billing")
            assert not await cli.routes.has(route.id)

            try:
                await cli.services.create(name="bulk-000", host="dup.internal")
                raise AssertionError("a duplicate name must be refused")
            except KongResponseError as error:
                assert error.status == 409

    run(scenario())


def test_apply_json_builds_services_with_routes(admin_url):
    async def scenario():
        async with Kong(url=admin_url) as cli:
            applied = await cli.services.apply_json(
                {"name": "ledger", "host": "ledger.internal", "routes": [{"name": "ledger-api", "paths": ["/ledger"]}]}
            )
            assert applied[0]["name"] == "ledger"
            again = await cli.services.apply_json({"name": "ledger", "host": "ledger2.internal", "routes": []})
            assert again[0]["host"] == "ledger2.internal"
            assert await cli.services.get("ledger")

    run(scenario())


def test_consumers(admin_url):
    async def scenario():
        async with Kong(url=admin_url) as cli:
            consumer = await cli.consumers.create(username="app", custom_id="client-123")
            assert (await cli.consumers.get("app")).id == consumer.id
            assert (await cli.consumers.update(consumer.id, custom_id="client-456"))["custom_id"] == "client-456"
            assert [c.username for c in await cli.consumers.get_list()] == ["app"]
            await cli.consumers.delete("app")
            assert not await cli.consumers.has("app")

    run(scenario())


def test_certificates_and_snis(admin_url):
    cert, key = self_signed("api.example.com")

    async def scenario():
        async with Kong(url=admin_url) as cli:
            certificate = await cli.certificates.create(cert=cert, key=key)
            sni = await certificate.snis.create(name="api.example.com")
            assert sni["certificate"]["id"] == certificate.id
            assert (await cli.certificates.get(certificate.id))["snis"] == ["api.example.com"]
            assert (await cli.snis.get("api.example.com")).id == sni.id
            await cli.snis.update("api.example.com", tags=["edge"])
            assert (await cli.snis.get(sni.id))["tags"] == ["edge"]
            await cli.certificates.delete(certificate.id)
            assert not await cli.snis.has("api.example.com")

    run(scenario())
