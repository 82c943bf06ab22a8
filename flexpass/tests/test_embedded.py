"""Embedded mode (`make run`: SQLite, no Redis) serves the main flows.

The suite runs in full mode; this one test starts a child process with no
DATABASE_URL or REDIS_URL, on a fresh SQLite file with the demo data.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(env: dict, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_demo_site_serves_its_main_flows_on_sqlite(tmp_path):
    env = {
        # Set and empty: a developer's .env (read without overwriting) cannot point
        # this run at a real database.
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "SQLITE_PATH": str(tmp_path / "flexpass.sqlite3"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "LOG_LEVEL": "WARNING",
    }
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "seed_demo")

    out = _manage(
        env, "shell", "-c", "from flexpass.tests import embedded_smoke; embedded_smoke.run()"
    )

    outcome = json.loads(out.split("SMOKE-RESULT ", 1)[1].splitlines()[0])
    created = {
        "buy a pass",
        "hold a flash item",
        "repeat the hold",
        "check out the hold",
        "send money",
        "start a top-up",
    }
    assert {step: outcome.get(step) for step in created} == dict.fromkeys(created, 201)
    pages = {step: status for step, status in outcome.items() if step.startswith("GET ")}
    assert pages and set(pages.values()) == {200}, pages
    assert outcome["repeat got the same hold"] is True
    assert (outcome["hold an item id too large"], outcome["buy a plan id too large"]) == (404, 400)
    assert (outcome["check_ledger"], outcome["check_flash_stock"]) == ("ok", "ok")
