"""What operators rely on: https settings, the container health probe, and the deploy files
(the Dockerfile and docker-compose.yml cannot run here: no Docker engine, so their wiring is
checked against the code instead)."""

import contextlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import pytest
import yaml
from django.test import Client

from sendook.tests.asgi_server import AsgiServer, free_port

ROOT = Path(__file__).resolve().parents[2]
# sendook/settings/ (a package: __init__.py, env.py, mail.py), read as one text.
SETTINGS_SOURCE = "".join(
    path.read_text() for path in sorted((ROOT / "sendook" / "settings").glob("*.py"))
)

pytestmark = pytest.mark.django_db


def _healthcheck_module():
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "deploy" / "healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_https_redirect_spares_the_health_endpoint_for_plain_http_probes(settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()  # a new client loads the security middleware with the setting on
    assert client.get("/health").status_code == 200
    response = client.get("/v1/inboxes")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/v1/inboxes"


@pytest.mark.parametrize(
    ("allowed_hosts", "probe_host"),
    [
        ("mail.example.com,other.example.com", "mail.example.com"),
        (".example.com", "example.com"),
        ("*", "localhost"),
        (" , *, api.example.com", "api.example.com"),
    ],
)
def test_the_container_probe_sends_a_host_django_accepts(monkeypatch, allowed_hosts, probe_host):
    monkeypatch.setenv("ALLOWED_HOSTS", allowed_hosts)
    assert _healthcheck_module().probe_host() == probe_host


def test_every_compose_service_on_the_sendook_image_runs_a_role_the_entrypoint_knows():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    entrypoint = (ROOT / "deploy" / "entrypoint.sh").read_text()
    roles = set(re.findall(r"^  (\w+)\)$", entrypoint, flags=re.MULTILINE))
    assert roles == {"web", "realtime", "worker", "beat", "smtpd", "migrate"}
    app_services = {
        name: service for name, service in compose["services"].items() if "build" in service
    }
    assert {"migrate", "web", "realtime", "worker", "beat", "smtpd"} <= set(app_services)
    for name, service in app_services.items():
        command = service["command"]
        assert command[0] in roles or command[0] == "python", name


def test_compose_sets_only_variables_that_settings_or_the_entrypoint_read():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    readers = SETTINGS_SOURCE + "".join(
        (ROOT / path).read_text() for path in ("deploy/entrypoint.sh", "deploy/gunicorn.conf.py")
    )
    for name, service in compose["services"].items():
        if "build" not in service:
            continue
        for variable in service.get("environment") or {}:
            assert f'"{variable}"' in readers or f"${{{variable}" in readers, (name, variable)


def test_requirements_txt_holds_run_time_pins_only_and_make_test_installs_the_dev_tools_on_top():
    runtime = (ROOT / "requirements.txt").read_text().splitlines()
    assert not [line for line in runtime if line.startswith("-r")]
    runtime_names = {line.split("==")[0].lower() for line in runtime if "==" in line}
    assert {"django", "celery", "gunicorn", "whitenoise", "psycopg"} <= runtime_names
    assert not runtime_names & {"pytest", "moto", "playwright", "schemathesis", "hypothesis"}
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    dev_names = {line.split("==")[0].lower() for line in dev if "==" in line}
    assert {"pytest", "pytest-django", "moto", "playwright", "import-linter"} <= dev_names
    assert not dev_names & runtime_names  # one pin per package
    makefile = (ROOT / "Makefile").read_text()
    run_recipe = re.search(r"^\$\(STAMP\):.*?(?=^\S)", makefile, re.S | re.M).group(0)
    dev_recipe = re.search(r"^\$\(DEV_STAMP\):.*?(?=^\S)", makefile, re.S | re.M).group(0)
    assert "requirements.txt" in run_recipe and "requirements-dev.txt" not in run_recipe
    assert "-r requirements-dev.txt" in dev_recipe
    assert re.search(r"^run: \$\(STAMP\)$", makefile, re.M)
    assert re.search(r"^test: \$\(DEV_STAMP\)$", makefile, re.M)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install -r requirements.txt" in dockerfile
    assert "COPY requirements-dev" not in dockerfile and "-r requirements-dev" not in dockerfile


# --- The realtime (ASGI) process: /v1/events/stream, /live/events, /mcp -------------------------

# What only the ASGI process serves; the proxy must send these there, unbuffered.
REALTIME_PATHS = ("/v1/events/stream", "/live/events", "/mcp")


def _nginx_locations() -> dict[str, dict[str, str]]:
    """deploy/nginx.conf's `location` blocks by match ("= /mcp", "/mcp/", "/"): directive ->
    its arguments."""
    text = re.sub(r"#[^\n]*", "", (ROOT / "deploy" / "nginx.conf").read_text())
    return {
        match.group(1): dict(re.findall(r"(\w+)\s+([^;]*);", match.group(2)))
        for match in re.finditer(r"location\s+([^{]+?)\s*\{([^}]*)\}", text)
    }


def _nginx_seconds(value: str) -> int:
    parsed = re.fullmatch(r"(\d+)([smh]?)", value)
    assert parsed, f"not an nginx time: {value}"
    number, unit = parsed.groups()
    return int(number) * {"": 1, "s": 1, "m": 60, "h": 3600}[unit]


def test_nginx_sends_the_stream_live_and_mcp_paths_to_realtime_unbuffered_and_the_rest_to_web():
    locations = _nginx_locations()
    for match in [f"= {path}" for path in REALTIME_PATHS] + ["/mcp/"]:
        location = locations[match]
        assert location["proxy_pass"] == "http://sendook_realtime", match
        assert location["proxy_buffering"] == "off", match
        # A quiet stream carries a heartbeat every 15 s; the proxy must outwait many of them.
        assert _nginx_seconds(location["proxy_read_timeout"]) >= 600, match
    assert locations["/"]["proxy_pass"] == "http://sendook_web"
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    upstream = re.search(r"upstream sendook_realtime \{([^}]*)\}", conf).group(1)
    assert re.search(r"^\s*server realtime:8001;", upstream, re.M)
    assert re.search(r"^\s*keepalive \d+;", upstream, re.M)
    # Keep-alive to the upstreams needs HTTP/1.1 and no "Connection: close" passed on.
    assert re.search(r"^\s*proxy_http_version 1\.1;", conf, re.M)
    assert re.search(r'^\s*proxy_set_header Connection "";', conf, re.M)


def test_nginx_routes_every_path_the_asgi_dispatcher_serves_itself():
    dispatcher = (ROOT / "sendook" / "asgi.py").read_text()
    routes = re.search(r"^ROUTES[^=]*=\s*\[(.*?)\]\s*$", dispatcher, re.S | re.M).group(1)
    served = set(re.findall(r'\(\s*"(/[^"]*)"\s*,', routes))
    locations = _nginx_locations()
    assert "/v1/events/stream" in served and served <= set(REALTIME_PATHS)
    for path in served:
        assert locations[f"= {path}"]["proxy_pass"] == "http://sendook_realtime", path


def test_compose_runs_the_realtime_process_behind_the_proxy_with_its_own_health_probe():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    realtime = services["realtime"]
    assert realtime["command"] == ["realtime"]
    assert realtime["healthcheck"]["test"] == [
        "CMD",
        "python",
        "/app/deploy/healthcheck.py",
        "realtime",
    ]
    assert realtime["expose"] == ["8001"] and "ports" not in realtime
    # Fan-out between processes goes through the compose redis (CACHE_URL, SENDOOK_STREAM_URL's
    # fallback), which every process on the image is given.
    assert realtime["environment"]["CACHE_URL"].endswith("redis://redis:6379/1}")
    assert services["proxy"]["depends_on"]["realtime"] == {"condition": "service_healthy"}


def test_the_container_probe_of_the_realtime_role_asks_its_port():
    module = _healthcheck_module()
    assert module.probe_port("realtime") == "8001"
    assert module.probe_port("web") == "8000"


def test_make_run_serves_the_asgi_application_with_uvicorn_on_the_loopback_port_8000():
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    serve = [line for line in dry_run.replace("\\\n", " ").splitlines() if "uvicorn" in line]
    assert len(serve) == 1, dry_run
    assert re.search(r"\.venv/bin/uvicorn sendook\.asgi:application ", serve[0])
    assert "--host 127.0.0.1 " in serve[0] and "--port 8000 " in serve[0]
    assert "runserver" not in dry_run


def test_env_example_documents_every_variable_settings_and_the_realtime_role_read():
    read = set(
        re.findall(r'\b(?:env\w*|os\.environ\.get)\(\s*"([A-Z][A-Z0-9_]+)"', SETTINGS_SOURCE)
    )
    entrypoint = (ROOT / "deploy" / "entrypoint.sh").read_text()
    realtime = re.search(r"^  realtime\)$(.*?)^    ;;$", entrypoint, re.S | re.M).group(1)
    read |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", realtime))
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert {"REALTIME_WORKERS", "REALTIME_PORT", "SENDOOK_STREAM_URL"} <= read | documented
    assert read - documented == set()


def test_the_readme_process_table_names_the_realtime_process_and_its_command():
    readme = (ROOT / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| realtime")]
    assert len(rows) == 1
    assert "`uvicorn sendook.asgi:application" in rows[0]
    for path in REALTIME_PATHS:
        assert path in rows[0]


def test_the_web_process_health_says_nothing_of_a_stream_hub_it_does_not_run(client):
    body = client.get("/health").json()
    assert body["healthy"] is True
    assert "stream" not in body


@pytest.fixture(scope="module")
def live_org(asgi_server):
    """One organization on the live server's database for this module's tests (any ASGI
    process started on that database sees it)."""
    return asgi_server.new_org()


def test_the_realtime_role_serves_health_and_a_stream_and_stops_on_sigterm_within_its_grace(
    asgi_server, live_org
):
    org = live_org
    port = free_port()
    env = {
        **asgi_server.env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "REALTIME_PORT": str(port),
        "REALTIME_GRACEFUL_TIMEOUT": "2",
    }
    process = subprocess.Popen(
        ["sh", str(ROOT / "deploy" / "entrypoint.sh"), "realtime"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        probe = [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), "realtime"]
        deadline = time.monotonic() + 30
        while subprocess.run(probe, env=env, capture_output=True).returncode != 0:
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "the realtime role never answered /health"
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            assert json.load(response)["database"] == "ok"
        with _stream(f"http://127.0.0.1:{port}", org.api_key) as lines:
            assert _next_field(lines, "retry") == "3000"
            stopping = time.monotonic()
            process.send_signal(signal.SIGTERM)
            # The open stream gets REALTIME_GRACEFUL_TIMEOUT (2 s), then is cut; uvicorn then
            # re-raises the signal it caught (the exit status says SIGTERM).
            assert process.wait(timeout=15) in (0, -signal.SIGTERM)
            assert time.monotonic() - stopping < 10
        log = process.stdout.read().decode()
        assert "Finished server process" in log
        assert '"GET /health' not in log  # no access log by default
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _health(url: str) -> tuple[int, dict]:
    response = httpx.get(url + "/health", timeout=10)
    return response.status_code, response.json()


@contextlib.contextmanager
def _stream(url: str, key: str, **params: str):
    """An open GET /v1/events/stream: yields its lines (SSE fields and comments)."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.stream(
        "GET", url + "/v1/events/stream", params=params, headers=headers, timeout=20
    ) as response:
        assert response.status_code == 200, response.read()
        yield response.iter_lines()


def _next_field(lines, name: str) -> str:
    """The value of the next `name:` line (comments and other fields skipped)."""
    for line in lines:
        if line.startswith(name + ":"):
            return line[len(name) + 1 :].strip()
    raise EOFError("the stream ended")


def test_the_asgi_process_health_shows_its_stream_hub_and_the_streams_it_holds(live_asgi, live_org):
    org = live_org
    expected = "redis" if live_asgi.env.get("CACHE_URL", "").startswith("redis://") else "polling"
    with _stream(live_asgi.url, org.api_key) as lines:
        assert _next_field(lines, "retry") == "3000"
        deadline = time.monotonic() + 10
        while True:  # the hub subscribes to Redis just after it starts
            status, body = _health(live_asgi.url)
            if body["stream"]["state"] == "ok" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert status == 200 and body["healthy"] is True
    assert body["stream"]["fanout"] == expected
    assert body["stream"]["connected"] is True
    assert body["stream"]["streams"] >= 1 and body["stream"]["organizations"] >= 1


def test_with_its_redis_unreachable_the_asgi_process_is_degraded_not_unhealthy_and_still_streams(
    asgi_server, live_org, tmp_path
):
    """Redis down: health says so without failing (a load balancer keeps the process), and a
    stream opened meanwhile still gets mail received by another process, by polling."""
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    server = AsgiServer(
        workdir=tmp_path,
        base_env={**asgi_server.env, "SENDOOK_STREAM_URL": dead_redis, "CACHE_URL": ""},
    )
    server.start()
    try:
        status, body = _health(server.url)
        assert status == 200 and body["healthy"] is True
        assert body["stream"]["fanout"] == "redis"
        assert body["stream"]["connected"] is False
        assert body["stream"]["state"] == "degraded"
        org = live_org
        inbox = httpx.post(
            server.url + "/v1/inboxes",
            json={"name": "Desk"},
            headers={"Authorization": f"Bearer {org.api_key}"},
            timeout=20,
        ).json()
        with _stream(server.url, org.api_key, events="message.received") as lines:
            assert _next_field(lines, "retry") == "3000"
            raw = b"From: a@example.com\r\nTo: %s\r\nSubject: Polled\r\n\r\nhi\r\n"
            server.manage("receive_email", stdin=raw % inbox["email"].encode())
            # Within the 20 s read timeout: polling finds it in about a second.
            assert _next_field(lines, "event") == "message.received"
            envelope = json.loads(_next_field(lines, "data"))
        assert envelope["inboxId"] == inbox["id"]
    finally:
        server.stop()


def test_the_readme_mcp_client_example_lists_the_tools_of_the_live_server(live_asgi, live_org):
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"```python\n(import asyncio\n.*?)```", readme, re.S).group(1)
    org = live_org
    example = example.replace("http://127.0.0.1:8000", live_asgi.url).replace("sk_…", org.api_key)
    done = subprocess.run(
        [sys.executable, "-c", example], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "'send_message'" in done.stdout and "'wait_for_message'" in done.stdout
