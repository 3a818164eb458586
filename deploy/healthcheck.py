"""Docker HEALTHCHECK: GET /health on this container, exit 0 only on 200.

`healthcheck.py` probes the web role (PORT); `healthcheck.py realtime` the realtime role
(REALTIME_PORT, default 8001), whose /health also reports its event stream hub.

Django refuses a Host header outside ALLOWED_HOSTS, so the probe names the first allowed host
(a leading-dot wildcard loses its dot; `*` becomes localhost) instead of 127.0.0.1.
"""

import os
import sys
import urllib.request


def probe_host() -> str:
    for host in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def probe_port(role: str) -> str:
    if role == "realtime":
        return os.environ.get("REALTIME_PORT") or "8001"
    return os.environ.get("PORT") or "8000"


def main(role: str = "web") -> int:
    url = f"http://127.0.0.1:{probe_port(role)}/health"
    request = urllib.request.Request(url, headers={"Host": probe_host()})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (fixed http URL)
            return 0 if response.status == 200 else 1
    except Exception as exc:  # 503 (database or broker down), refused, timeout
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
