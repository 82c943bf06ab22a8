"""Stop at once, with one clear line, when PostgreSQL or Redis is not reachable."""

import os
import socket
import sys
from urllib.parse import urlparse

SERVICES = [
    (
        "PostgreSQL",
        "DATABASE_URL",
        5432,
        "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    ),
    (
        "Redis",
        "REDIS_URL",
        6379,
        'start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    ),
]


def main() -> int:
    for name, variable, default_port, how in SERVICES:
        url = urlparse(os.environ.get(variable, ""))
        host, port = url.hostname or "127.0.0.1", url.port or default_port
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError:
            print(
                f"make test: {name} is not reachable at {host}:{port} ({variable}); {how}",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
