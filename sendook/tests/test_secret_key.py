"""A web process with DEBUG off refuses the public fallback SECRET_KEY."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(module, **env):
    environ = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("module", ["sendook.wsgi", "sendook.asgi"])
def test_a_web_process_without_secret_key_and_debug_off_refuses_to_start(module):
    result = load(module, DEBUG="0")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY is not set" in result.stderr


def test_a_web_process_starts_with_a_secret_key_or_in_debug():
    assert load("sendook.wsgi", DEBUG="0", SECRET_KEY="x" * 50).returncode == 0
    assert load("sendook.wsgi", DEBUG="1").returncode == 0
