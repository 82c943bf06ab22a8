"""Full-mode settings plus a bounded PostgreSQL connection pool per web process.

Used by the hold-storm benchmark to show the hold path once the web tier stops
opening one database connection per in-flight request. Under ASGI, Django runs
every in-flight request on its own thread with its own connection, so 200
clients in flight ask PostgreSQL for ~200 connections (max_connections is 100
here) and the excess fail with "too many clients". Django 5.1+ pools
connections with psycopg_pool (`pip install psycopg-pool`): requests then wait
for one of BENCH_POOL_SIZE connections instead of failing.

    DJANGO_SETTINGS_MODULE=bench.pooled_settings uvicorn flexpass.asgi:application ...
"""

import os

from flexpass.settings.base import *  # noqa: F403
from flexpass.settings.base import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not
DATABASES["default"]["OPTIONS"]["pool"] = {
    "min_size": 4,
    "max_size": int(os.environ.get("BENCH_POOL_SIZE", "16")),
    "timeout": 30,
}
