"""`make run`'s demo login: a superuser of the installation only on the embedded defaults."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def embedded(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    settings.DEBUG = True
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", "django.db.backends.sqlite3")
    return settings


def demo_user():
    return get_user_model().objects.get(email="demo@example.com")


def test_make_run_passes_the_superuser_flag():
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "manage.py bootstrap_demo --superuser" in makefile


def test_bootstrap_demo_without_the_flag_makes_no_superuser(embedded, capsys):
    call_command("bootstrap_demo")
    assert not demo_user().is_superuser
    assert not demo_user().is_staff
    assert "SUPERUSER" not in capsys.readouterr().out


def test_bootstrap_demo_superuser_on_the_embedded_defaults_says_so(embedded, capsys):
    call_command("bootstrap_demo", "--superuser")
    assert demo_user().is_superuser
    out = capsys.readouterr().out
    assert "demo@example.com is a SUPERUSER of this whole installation" in out
    # Every later run says it again.
    call_command("bootstrap_demo")
    assert "SUPERUSER of this whole installation" in capsys.readouterr().out


def test_bootstrap_demo_makes_no_superuser_on_postgresql(embedded, monkeypatch, capsys):
    monkeypatch.setitem(embedded.DATABASES["default"], "ENGINE", "django.db.backends.postgresql")
    call_command("bootstrap_demo", "--superuser")
    assert not demo_user().is_superuser
    captured = capsys.readouterr()
    assert "Not making demo@example.com a superuser" in captured.err
    assert "SUPERUSER" not in captured.out


def test_bootstrap_demo_makes_no_superuser_with_debug_off(embedded, capsys):
    embedded.DEBUG = False
    call_command("bootstrap_demo", "--superuser")
    assert not demo_user().is_superuser
    assert "Not making demo@example.com a superuser" in capsys.readouterr().err


def test_bootstrap_demo_gives_a_leftover_demo_login_the_new_password(embedded, capsys):
    import json

    from django.contrib.auth import authenticate

    get_user_model().objects.create_user(
        username="demo@example.com", email="demo@example.com", password="forgotten-one"
    )
    call_command("bootstrap_demo")
    password = json.loads((embedded.VAR_DIR / "demo.json").read_text())["password"]
    assert authenticate(username="demo@example.com", password=password) is not None
