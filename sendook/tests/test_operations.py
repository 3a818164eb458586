"""What operators rely on: https settings, the container health probe, and the deploy files
(the Dockerfile and docker-compose.yml cannot run here: no Docker engine, so their wiring is
checked against the code instead)."""

import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]

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
    assert roles == {"web", "worker", "beat", "smtpd", "migrate"}
    app_services = {
        name: service for name, service in compose["services"].items() if "build" in service
    }
    assert {"migrate", "web", "worker", "beat", "smtpd"} <= set(app_services)
    for name, service in app_services.items():
        command = service["command"]
        assert command[0] in roles or command[0] == "python", name


def test_compose_sets_only_variables_that_settings_or_the_entrypoint_read():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    readers = "".join(
        (ROOT / path).read_text()
        for path in ("sendook/settings.py", "deploy/entrypoint.sh", "deploy/gunicorn.conf.py")
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
