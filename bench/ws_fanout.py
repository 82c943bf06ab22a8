"""WebSocket fan-out: N clients in one chat group, time from a broadcast to the last receive.

Not a test: it measures. Against a running full-mode server (Redis channel
layer), for each N in --clients it

1. opens N authenticated sockets on /ws/chat/<id>/ (one staff session; staff may
   join any conversation) with at most --connect-concurrency handshakes at once;
2. "layer": sends --messages broadcasts straight into the group `chat.<id>`
   through the channel layer, as the server's after-commit broadcast does, and
   times each one from group_send to the moment the LAST of the N clients has it;
3. "api": posts --messages chat messages through POST /api/v1/support/.../messages/
   (stored in PostgreSQL, then broadcast after commit) and times each one from
   the request leaving to the last client receiving it: the whole path.

It prints p50 / p99 / max of "last receive" for both, the per-delivery median,
and how many deliveries were lost (a client that did not get a broadcast within
--timeout). The clients run in this process on one event loop, so the numbers
include the client side's own cost of parsing N frames.

Loopback only, bounded: every wait has a timeout and each N stops after --max-seconds.
The script must see the SAME DATABASE_URL, REDIS_URL, DJANGO_SECRET_KEY and
CHANNELS_PREFIX as the server (it writes the conversation, mints the session and
sends into the server's channel layer).

    DATABASE_URL=... REDIS_URL=... DJANGO_SECRET_KEY=... \\
        .venv/bin/python bench/ws_fanout.py --url http://127.0.0.1:8031 --clients 100,1000
"""

import argparse
import asyncio
import json
import logging
import os
import resource
import statistics
import sys
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


# --- setup through Django (same database and channel layer as the server) ---------------------


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flexpass.settings.base")
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing:
        sys.exit(
            f"Set {', '.join(missing)} (and DJANGO_SECRET_KEY) exactly as the server has them."
        )
    import django

    django.setup()


@dataclass(frozen=True)
class Room:
    conversation_id: int
    cookie: str
    csrf: str


def open_room(run_id: str) -> Room:
    """A staff member, a customer and their conversation; the staff session's cookie."""
    from django.conf import settings
    from django.test import Client
    from django.utils.crypto import get_random_string

    from accounts.models import User
    from support import services

    staff = User.objects.create_user(
        email=f"bench-agent-{run_id}@bench.flexpass.dev", is_staff=True, role=User.Role.STAFF
    )
    customer = User.objects.create_user(email=f"bench-customer-{run_id}@bench.flexpass.dev")
    conversation = services.conversation_start(
        customer=customer, subject=f"Fan-out bench {run_id}", body="start"
    )
    client = Client()
    client.force_login(staff)
    csrf = get_random_string(32)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return Room(
        conversation_id=conversation.pk,
        cookie=f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}",
        csrf=csrf,
    )


# --- clients ----------------------------------------------------------------------------------


@dataclass
class Fleet:
    """N sockets; `seen[marker]` lists the monotonic times each client received `marker`."""

    sockets: list = field(default_factory=list)
    readers: list = field(default_factory=list)
    seen: dict[str, list[float]] = field(default_factory=dict)
    arrived: dict[str, asyncio.Event] = field(default_factory=dict)
    target: int = 0

    def expect(self, marker: str) -> asyncio.Event:
        self.seen[marker] = []
        self.arrived[marker] = asyncio.Event()
        return self.arrived[marker]

    def received(self, marker: str, at: float) -> None:
        times = self.seen.get(marker)
        if times is None:
            return
        times.append(at)
        if len(times) >= self.target:
            self.arrived[marker].set()


async def read_forever(socket, fleet: Fleet) -> None:
    try:
        async for raw in socket:
            at = time.monotonic()
            frame = json.loads(raw)
            if frame.get("type") == "message":
                body = frame["message"].get("body", "")
                if body.startswith("bench:"):
                    fleet.received(body, at)
    except websockets.ConnectionClosed:
        pass


async def connect_fleet(url: str, room: Room, count: int, concurrency: int) -> Fleet:
    parts = urlsplit(url)
    ws_url = f"ws://{parts.netloc}/ws/chat/{room.conversation_id}/"
    headers = {"Cookie": room.cookie, "Origin": f"{parts.scheme}://{parts.netloc}"}
    fleet = Fleet(target=count)
    gate = asyncio.Semaphore(concurrency)

    async def one():
        async with gate:
            socket = await asyncio.wait_for(
                websockets.connect(
                    ws_url, additional_headers=headers, max_queue=None, ping_interval=None
                ),
                timeout=30,
            )
        fleet.sockets.append(socket)
        fleet.readers.append(asyncio.create_task(read_forever(socket, fleet)))

    await asyncio.gather(*(one() for _ in range(count)))
    return fleet


async def close_fleet(fleet: Fleet) -> None:
    await asyncio.gather(*(socket.close() for socket in fleet.sockets), return_exceptions=True)
    for reader in fleet.readers:
        reader.cancel()


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Result:
    mode: str
    clients: int
    last: list[float] = field(default_factory=list)  # seconds, per broadcast
    deliveries: list[float] = field(default_factory=list)  # seconds, per client per broadcast
    lost: int = 0
    sent: int = 0

    @staticmethod
    def pct(values: list[float], fraction: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    def line(self) -> str:
        median = statistics.median(self.deliveries) * 1000 if self.deliveries else float("nan")
        return (
            f"N={self.clients:<5} {self.mode:<5} broadcasts {self.sent:>3}  "
            f"last-receive p50 {self.pct(self.last, 0.50):7.1f} ms  "
            f"p99 {self.pct(self.last, 0.99):7.1f} ms  max {max(self.last, default=float('nan')) * 1000:7.1f} ms  "
            f"per-delivery median {median:6.1f} ms  lost {self.lost}"
        )


async def measure(fleet: Fleet, result: Result, send, messages: int, gap: float, timeout: float):
    for number in range(messages):
        marker = f"bench:{result.mode}:{result.clients}:{number}:{uuid.uuid4().hex[:6]}"
        arrived = fleet.expect(marker)
        started = time.monotonic()
        await send(marker)
        with suppress(TimeoutError):  # missing deliveries are counted as lost below
            await asyncio.wait_for(arrived.wait(), timeout=timeout)
        times = fleet.seen.pop(marker)
        fleet.arrived.pop(marker)
        result.sent += 1
        result.lost += fleet.target - len(times)
        if times:
            result.last.append(max(times) - started)
            result.deliveries.extend(at - started for at in times)
        await asyncio.sleep(gap)


async def run_one(args, room: Room, count: int) -> list[Result]:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    group = f"chat.{room.conversation_id}"
    connect_started = time.monotonic()
    fleet = await connect_fleet(args.url, room, count, args.connect_concurrency)
    print(
        f"N={count}: {len(fleet.sockets)} sockets connected in {time.monotonic() - connect_started:.1f} s"
    )
    await asyncio.sleep(0.5)
    deadline = time.monotonic() + args.max_seconds
    results = []

    async def via_layer(marker: str) -> None:
        await layer.group_send(
            group,
            {
                "type": "chat.message",
                "message": {
                    "id": 0,
                    "conversation": room.conversation_id,
                    "client_id": "",
                    "kind": "text",
                    "internal": False,
                    "body": marker,
                    "sender": {"id": None, "name": "bench", "role": "system"},
                    "attachment": None,
                    "created_at": "",
                },
            },
        )

    async with httpx.AsyncClient(base_url=args.url, timeout=30) as http:

        async def via_api(marker: str) -> None:
            response = await http.post(
                f"/api/v1/support/conversations/{room.conversation_id}/messages/",
                json={"body": marker, "client_id": marker[-20:].replace(":", "-")},
                headers={"Cookie": room.cookie, "X-CSRFToken": room.csrf},
            )
            response.raise_for_status()

        for mode, send in (("layer", via_layer), ("api", via_api)):
            if time.monotonic() > deadline:
                break
            result = Result(mode=mode, clients=count)
            budget = max(
                1, min(args.messages, int((deadline - time.monotonic()) / (args.gap + 0.05)))
            )
            await measure(fleet, result, send, budget, args.gap, args.timeout)
            results.append(result)
            print(result.line())
    await close_fleet(fleet)
    await asyncio.sleep(1)
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8031")
    parser.add_argument("--clients", default="100,1000", help="comma-separated N values")
    parser.add_argument("--messages", type=int, default=40, help="broadcasts per mode and N")
    parser.add_argument("--gap", type=float, default=0.15, help="seconds between broadcasts")
    parser.add_argument("--timeout", type=float, default=10.0, help="per broadcast")
    parser.add_argument("--connect-concurrency", type=int, default=50)
    parser.add_argument("--max-seconds", type=float, default=120.0, help="per N")
    args, _unknown = parser.parse_known_args(argv)  # `make bench` passes other benches' flags
    host = urlsplit(args.url).hostname or ""
    if host not in LOOPBACK and f"[{host}]" not in LOOPBACK:
        parser.error(f"--url must be a loopback address, not {host!r}")
    args.clients = [int(value) for value in str(args.clients).split(",") if value.strip()]
    if max(args.clients) > 5000:
        parser.error("at most 5000 clients")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(args.clients) + 256
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, wanted), hard))
    django_setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    run_id = uuid.uuid4().hex[:8]
    room = open_room(run_id)
    print(
        f"conversation {room.conversation_id}; clients {args.clients}; {args.messages} broadcasts per mode"
    )
    all_results = []
    for count in args.clients:
        all_results += asyncio.run(run_one(args, room, count))
    lost = sum(result.lost for result in all_results)
    print("lost deliveries:", lost)
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
