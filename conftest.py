"""Fixtures shared by every app's tests: two organizations and clients for each."""

import pytest
from rest_framework.test import APIClient

from inboxes.services import create_api_key
from inboxes.tests.factories import MembershipFactory, OrganizationFactory


@pytest.fixture(scope="session")
def _nxdomain_dns():
    """A DNS server on loopback that knows no names: the default resolver of every test, so the
    sender checks run on received mail (messages/services/authentication.py) never reach the
    network. Tests that need records start their own (inboxes/tests/dns_server.py)."""
    from inboxes.tests.dns_server import loopback_dns

    with loopback_dns() as server:
        yield server


@pytest.fixture(scope="session")
def asgi_server(tmp_path_factory, _nxdomain_dns):
    """The ASGI process (uvicorn sendook.asgi:application) on a database of its own, once per
    session: see sendook/tests/asgi_server.py. Tests create their own organization on it
    (`asgi_server.new_org()`) and may kill and restart it (`restart()`); it is started again
    for the next test if a test left it stopped."""
    from sendook.tests.asgi_server import drop_live_database, start_asgi_server

    server, admin = start_asgi_server(tmp_path_factory.mktemp("asgi"), _nxdomain_dns.address)
    try:
        yield server
    finally:
        drop_live_database(server, admin)


@pytest.fixture
def live_asgi(asgi_server):
    """`asgi_server`, running."""
    if asgi_server.process is None or asgi_server.process.poll() is not None:
        asgi_server.start()
    return asgi_server


@pytest.fixture(autouse=True)
def _isolated_settings(settings, tmp_path, _nxdomain_dns):
    settings.SENDOOK_DNS_RESOLVER = _nxdomain_dns.address
    # Each test gets its own storage and sandbox folders, and its own rate-limit counters.
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SENDOOK_SANDBOX_DIR = tmp_path / "sandbox"
    settings.RATELIMIT_ENABLE = True
    from django.core.cache import cache

    try:
        cache.clear()
    except Exception:  # a test may have stopped the cache server on purpose
        pass
    # Like the cache: webhook workers' in-process memory of the deliveries they took.
    from webhooks.services.delivery.claiming import forget_taken

    forget_taken()


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Globex")


def _client_for(organization):
    client = APIClient()
    secret = create_api_key(organization, name="test").secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.organization = organization
    client.secret = secret
    return client


@pytest.fixture
def api_client(org):
    return _client_for(org)


@pytest.fixture
def other_api_client(other_org):
    return _client_for(other_org)


@pytest.fixture
def anonymous_client():
    return APIClient()


@pytest.fixture
def staff_user(org):
    return MembershipFactory(organization=org).user


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture(scope="session")
def moto_server():
    """moto's standalone server: the local SES/SNS/S3 endpoint (nothing reaches AWS)."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    executable = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(executable), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.2)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def aws(settings, moto_server):
    """Point boto3 (our adapters and Anymail's SES backend) at the local moto server."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"))
    settings.AWS_ENDPOINT_URL = moto_server
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "AMAZON_SES_CLIENT_PARAMS": {"region_name": "us-east-1", "endpoint_url": moto_server},
    }
    return moto_server
