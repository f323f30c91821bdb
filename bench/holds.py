"""Benchmark: seat holds against the platform's floor, and a race for one sailing.

    python bench/holds.py [--url http://127.0.0.1:8080] [--duration 10] [--connections 16]

Three measurements through the local gateway (``/function/<name>``), all on 127.0.0.1:

1. floor  ``GET /function/hello/`` with wrk (``-t2 -c<connections> --latency``) after a warm-up;
2. holds  ``POST /function/lock-seat/holds`` at the same concurrency, every request holding
          its own (sailing, seat) as its own client (a client id signed with the tenant's
          storefront key, as a storefront signs them, and its own address), so the measured
          path is the success path and the per-buyer limits are honoured without changing them;
3. race   1,000 buyers (threads, 64 released together by a barrier) for the seats of one fresh
          sailing; the seat map, the 201 answers and PostgreSQL must agree (no seat twice).

Without ``--url`` it starts its own runtime (``python -m prichal_localrun``) on a free port
against the database ``prichal_bench`` with its own Redis prefix and events exchange, and
cleans all of it up at the end. Progress goes to stderr; the last line of stdout is one
JSON object with the figures. Goals are printed next to the figures, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import requests
from runtime import DEFAULT_DB_URL, create_tenant, gateway_under_test, say, storefront_key

from prichal.domain.client_ids import sign_client_id

WRK_THREADS = 2
WARMUP_S = 2
SELLABLE_PER_SAILING = 148  # build_demo: 150 seats, main-A-1 and main-A-12 blocked
RACE_BUYERS = 1000
RACE_BATCH = 64
RACE_SEED = 20240601
GOALS = {"ratio": ">= 0.4", "holds_p99_ms": "<= 25", "double_holds": "== 0"}
MAX_DAYS = 1500  # bound on the bench tenant's size whatever the floor measures
JSON_MARK = "BENCH_JSON "


# --- wrk scripts ------------------------------------------------------------------------
# done() runs in wrk's main Lua state: it prints the figures as one JSON line for Python.
LUA_DONE = r"""
function done(summary, latency, requests)
  local non201, responses, wrapped = 0, 0, 0
  for _, t in ipairs(threads) do
    non201 = non201 + (tonumber(t:get("non201")) or 0)
    responses = responses + (tonumber(t:get("responses")) or 0)
    wrapped = wrapped + (tonumber(t:get("wrapped")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,' ..
    '"errors_status":%d,"errors_timeout":%d,"non201":%d,"responses":%d,"wrapped":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, non201, responses, wrapped))
end
"""

LUA_FLOOR = r"""
threads = {}
function setup(thread) table.insert(threads, thread) end
""" + LUA_DONE

# Each wrk thread reads its own slice (<prefix><thread index>, lines "sailing seat client-id")
# and sends one hold per line, each as its own client (signed X-Client-Id and X-Forwarded-For).
LUA_HOLDS = r"""
threads = {}
local created = 0
function setup(thread)
  thread:set("id", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  local prefix, tenant = args[1], args[2]
  reqs, n, i = {}, 0, 0
  non201, responses, wrapped = 0, 0, 0
  for line in io.lines(prefix .. id) do
    local sailing, seat, client = line:match("^(%S+) (%S+) (%S+)$")
    if sailing then
      n = n + 1
      local headers = {
        ["Content-Type"] = "application/json",
        ["X-Tenant"] = tenant,
        ["X-Client-Id"] = client,
        ["X-Forwarded-For"] = string.format("10.%d.%d.%d", 100 + id, math.floor(n / 256) % 256, n % 256),
      }
      local body = string.format('{"sailing_id":"%s","seat_ids":["%s"]}', sailing, seat)
      reqs[n] = wrk.format("POST", "/function/lock-seat/holds", headers, body)
    end
  end
end

function request()
  i = i + 1
  if i > n then i = 1; wrapped = wrapped + 1 end  -- sized so this never happens; reported if it does
  return reqs[i]
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 201 then non201 = non201 + 1 end
end
""" + LUA_DONE


# --- load generators --------------------------------------------------------------------
def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    say("wrk is missing: trying `apt-get install -y wrk`")
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, timeout=300, env=env,
                       stdout=sys.stderr, stderr=sys.stderr)
    except (OSError, subprocess.SubprocessError) as exc:
        say(f"cannot install wrk ({exc}); falling back to the Python load generator")
        return None
    return shutil.which("wrk")


def run_wrk(wrk: str, url: str, script: str, duration: int, connections: int, args: list[str],
            workdir: Path) -> dict:
    path = workdir / f"script-{uuid.uuid4().hex[:6]}.lua"
    path.write_text(script)
    command = [wrk, f"-t{WRK_THREADS}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
               "-s", str(path), url, *(["--", *args] if args else [])]
    out = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120, check=False)
    for line in out.stdout.splitlines():
        if line.startswith(JSON_MARK):
            stats = json.loads(line[len(JSON_MARK):])
            stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
            return stats
    raise RuntimeError(f"wrk gave no figures (exit {out.returncode}):\n{out.stdout}\n{out.stderr}")


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def run_python_load(base: str, duration: int, connections: int,
                    make_request: callable) -> dict:  # type: ignore[valid-type]
    """The fallback when wrk is unavailable: ``connections`` threads, one keep-alive
    connection each, for ``duration`` seconds. Slower than wrk (the GIL is shared with
    nothing but itself here), so its figures are a floor of what the gateway can do."""
    parts = urlsplit(base)
    deadline = time.monotonic() + duration
    latencies: list[list[float]] = [[] for _ in range(connections)]
    statuses: list[Counter] = [Counter() for _ in range(connections)]
    errors = [0] * connections

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        sequence = 0
        while time.monotonic() < deadline and sequence < 10_000_000:
            method, path, headers, body = make_request(index, sequence)
            sequence += 1
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                continue
            latencies[index].append((time.perf_counter() - started) * 1e6)
            statuses[index][response.status] += 1
        conn.close()

    started = time.monotonic()
    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=duration + 30)
    elapsed = time.monotonic() - started
    merged = sorted(value for values in latencies for value in values)
    status_total = sum(statuses, Counter())
    return {"requests": len(merged), "duration_us": int(elapsed * 1e6), "rps": len(merged) / elapsed,
            "p50_us": _percentile(merged, 50), "p90_us": _percentile(merged, 90),
            "p99_us": _percentile(merged, 99), "p999_us": _percentile(merged, 99.9),
            "mean_us": sum(merged) / len(merged) if merged else 0.0, "max_us": merged[-1] if merged else 0,
            "errors_connect": sum(errors), "non201": sum(n for s, n in status_total.items() if s != 201),
            "responses": len(merged), "wrapped": 0}


# --- the runtime ------------------------------------------------------------------------
def sellable_seats(base: str, slug: str, sailing_id: str) -> list[str]:
    answer = requests.get(f"{base}/function/catalog/sailings/{sailing_id}/seatmap",
                          headers={"X-Tenant": slug}, timeout=30)
    answer.raise_for_status()
    return [seat["id"] for seat in answer.json()["seats"] if seat["status"] != "blocked"]


def write_pairs(prefix: Path, sailings: list[str], seats: list[str], sign: Callable[[str], str], tag: str) -> int:
    """Every (sailing, seat) once, sailing by sailing, each with a signed client id of its own;
    line k goes to thread k % WRK_THREADS, so both threads work on the same sailing at once."""
    files = [open(f"{prefix}{t}", "w") for t in range(WRK_THREADS)]
    count = 0
    try:
        for sailing in sailings:
            for seat in seats:
                files[count % WRK_THREADS].write(f"{sailing} {seat} {sign(f'{tag}-{count}')}\n")
                count += 1
    finally:
        for handle in files:
            handle.close()
    return count


def python_hold_requests(prefix: Path, slug: str, connections: int):
    """Request factory for the Python load generator: connection c walks its own slice."""
    lines = []
    for t in range(WRK_THREADS):
        lines += Path(f"{prefix}{t}").read_text().splitlines()
    slices = [lines[c::connections] for c in range(connections)]

    def make(index: int, sequence: int) -> tuple[str, str, dict, bytes]:
        sailing, seat, client = slices[index][sequence % len(slices[index])].split()
        headers = {"Content-Type": "application/json", "X-Tenant": slug, "X-Client-Id": client,
                   "X-Forwarded-For": f"10.{100 + index}.{(sequence // 256) % 256}.{sequence % 256}"}
        body = json.dumps({"sailing_id": sailing, "seat_ids": [seat]}).encode()
        return "POST", "/function/lock-seat/holds", headers, body

    return make


# --- the race ---------------------------------------------------------------------------
def race(base: str, slug: str, sailing_id: str, seats: list[str], sign: Callable[[str], str]) -> dict:
    rng = random.Random(RACE_SEED)
    wishes = [rng.sample(seats, rng.randint(1, 4)) for _ in range(RACE_BUYERS)]
    won: list[list[str]] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(RACE_BATCH)
    waves = math.ceil(RACE_BUYERS / RACE_BATCH)
    url = f"{base}/function/lock-seat/holds"

    def buyer_thread(slot: int) -> None:
        session = requests.Session()
        for wave in range(waves):
            buyer = wave * RACE_BATCH + slot
            try:
                barrier.wait(timeout=60)
            except threading.BrokenBarrierError:
                return
            if buyer >= RACE_BUYERS:
                continue
            headers = {"X-Tenant": slug, "X-Client-Id": sign(f"race-{buyer}"),
                       "X-Forwarded-For": f"10.250.{buyer // 256}.{buyer % 256}"}
            try:
                answer = session.post(url, json={"sailing_id": sailing_id, "seat_ids": wishes[buyer]},
                                      headers=headers, timeout=30)
            except requests.RequestException as exc:
                with lock:
                    statuses[type(exc).__name__] += 1
                continue
            with lock:
                statuses[answer.status_code] += 1
                if answer.status_code == 201:
                    won.append((answer.json()["token"], list(answer.json()["seat_ids"])))
        session.close()

    started = time.monotonic()
    threads = [threading.Thread(target=buyer_thread, args=(slot,), daemon=True) for slot in range(RACE_BATCH)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    elapsed = time.monotonic() - started

    claims = Counter(seat for _, hold in won for seat in hold)
    won_seats = set(claims)
    answer = requests.get(f"{base}/function/catalog/sailings/{sailing_id}/seatmap",
                          headers={"X-Tenant": slug}, timeout=30)
    answer.raise_for_status()
    map_held = {seat["id"] for seat in answer.json()["seats"] if seat["status"] == "held"}
    result = {
        "race_buyers": RACE_BUYERS, "race_seats": len(seats), "race_won": len(won),
        "race_seats_held": len(won_seats), "race_seatmap_held": len(map_held),
        "double_holds": sum(1 for n in claims.values() if n > 1),
        "mismatches": len(map_held ^ won_seats),
        "race_statuses": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
        "race_s": round(elapsed, 2),
    }
    # every winner's hold reads back active with exactly its seats
    with requests.Session() as session:
        records = [session.get(f"{base}/function/lock-seat/holds/{token}", headers={"X-Tenant": slug}, timeout=30)
                   for token, _ in won]
    result["record_mismatches"] = sum(
        1 for (_, seats), answer in zip(won, records, strict=True)
        if answer.status_code != 200 or answer.json()["status"] != "active"
        or sorted(answer.json()["seat_ids"]) != sorted(seats))
    return result


# --- main -------------------------------------------------------------------------------
def ms(microseconds: float) -> float:
    return round(microseconds / 1000, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running gateway (default: start one against the database prichal_bench)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured phase (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    # Holds call no other function, so few threads per process serve them best (measured in
    # bench/README.md); the checkout bench keeps the runtime's default for nested calls.
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GATEWAY_WORKERS", "4")),
                        help="gateway workers when starting one (env GATEWAY_WORKERS, default 4)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("GATEWAY_THREADS", "2")),
                        help="gateway threads per worker when starting one (env GATEWAY_THREADS, default 2)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DB_URL),
                        help="with --url: the gateway's database, where the bench tenant is created")
    parser.add_argument("--keep-db", action="store_true", help="keep the prichal_bench database afterwards")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator, not wrk")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.duration > 600 or args.connections < WRK_THREADS or args.connections > 1024:
        parser.error("--duration must be 1..600 and --connections 2..1024")

    wrk = None if args.python_load else ensure_wrk()
    # the shape is known only for a runtime of our own (or when the caller says so)
    known_shape = not args.url or "GATEWAY_WORKERS" in os.environ
    workers, threads = (args.workers, args.threads) if known_shape else (None, None)
    workdir = Path(tempfile.mkdtemp(prefix="prichal-bench-"))
    try:
        with gateway_under_test(args.url, args.database_url, args.workers, args.threads, args.keep_db) as (
                base, database_url):
            result = measure(args, base, database_url, wrk, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.update({"cores": os.cpu_count(), "gateway_workers": workers, "gateway_threads": threads,
                   "duration_s": args.duration, "connections": args.connections,
                   "load_generator": "wrk" if wrk else "python", "goals": GOALS})
    print_summary(result)
    print(json.dumps(result, separators=(", ", ": ")), flush=True)
    return 0


def measure(args: argparse.Namespace, base: str, database_url: str, wrk: str | None, workdir: Path) -> dict:
    duration, connections = args.duration, args.connections
    if wrk is None:
        say("NOTE: load from the Python generator (wrk unavailable or --python-load); it understates the gateway")

    def load(url: str, script: str, seconds: int, lua_args: list[str], python_factory) -> dict:
        if wrk:
            return run_wrk(wrk, url, script, seconds, connections, lua_args, workdir)
        return run_python_load(base, seconds, connections, python_factory)

    # 1. floor
    hello = f"{base}/function/hello/"
    floor_requests = lambda _i, _n: ("GET", "/function/hello/", {}, None)  # noqa: E731
    say(f"floor: warm-up {WARMUP_S} s, then GET /function/hello/ for {duration} s at {connections} connections")
    load(hello, LUA_FLOOR, WARMUP_S, [], floor_requests)
    floor = load(hello, LUA_FLOOR, duration, [], floor_requests)
    say(f"floor: {floor['rps']:.0f} req/s, p50 {ms(floor['p50_us'])} ms, p99 {ms(floor['p99_us'])} ms")

    # 2. holds: enough seats that no request repeats one, even at the floor's rate
    ceiling = max(floor["rps"], 500) * 1.5
    warm_needed = math.ceil(ceiling * WARMUP_S)
    run_needed = math.ceil(ceiling * duration)
    warm_sailings = math.ceil(warm_needed / SELLABLE_PER_SAILING)
    run_sailings = math.ceil(run_needed / SELLABLE_PER_SAILING)
    days = min(MAX_DAYS, math.ceil((warm_sailings + run_sailings + 1) / 3))
    say(f"creating the bench tenant: {days} days, {days * 3} assigned sailings")
    started = time.monotonic()
    slug, sailings = create_tenant(database_url, days)
    say(f"tenant {slug} ready in {time.monotonic() - started:.1f} s")
    race_sailing = sailings[-1]
    seats = sellable_seats(base, slug, race_sailing)
    warm_sailings = min(warm_sailings, max(1, (len(sailings) - 1) // 4))
    key = storefront_key(database_url, slug)

    def sign(client_id: str) -> str:
        return sign_client_id(key, slug, client_id)

    warm_prefix, run_prefix = workdir / "warm.", workdir / "run."
    tag = uuid.uuid4().hex[:6]
    write_pairs(warm_prefix, sailings[:warm_sailings], seats, sign, f"w{tag}")
    pairs = write_pairs(run_prefix, sailings[warm_sailings:-1], seats, sign, f"b{tag}")
    holds_url = f"{base}/function/lock-seat/holds"
    say(f"holds: warm-up {WARMUP_S} s, then {duration} s at {connections} connections over {pairs} distinct seats")
    load(holds_url, LUA_HOLDS, WARMUP_S, [str(warm_prefix), slug],
         python_hold_requests(warm_prefix, slug, connections))
    holds = load(holds_url, LUA_HOLDS, duration, [str(run_prefix), slug],
                 python_hold_requests(run_prefix, slug, connections))
    say(f"holds: {holds['rps']:.0f} req/s, p50 {ms(holds['p50_us'])} ms, p99 {ms(holds['p99_us'])} ms, "
        f"non-201 {holds['non201']}")
    if holds.get("wrapped"):
        say(f"WARNING: the seat list ran out {holds['wrapped']} times; later requests were conflicts")

    # 3. race
    say(f"race: {RACE_BUYERS} buyers, {RACE_BATCH} at a time, for {len(seats)} seats of sailing {race_sailing}")
    contest = race(base, slug, race_sailing, seats, sign)
    say(f"race: {contest['race_won']} holds won, {contest['race_seats_held']} seats held, "
        f"double holds {contest['double_holds']}, mismatches {contest['mismatches']}")

    return {
        "hello_rps": round(floor["rps"], 1), "hello_p50_ms": ms(floor["p50_us"]),
        "hello_p99_ms": ms(floor["p99_us"]), "hello_errors": sum(
            floor.get(k, 0) for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout",
                                      "errors_status")),
        "holds_rps": round(holds["rps"], 1), "holds_p50_ms": ms(holds["p50_us"]),
        "holds_p90_ms": ms(holds["p90_us"]), "holds_p99_ms": ms(holds["p99_us"]),
        "holds_max_ms": ms(holds["max_us"]), "holds_requests": holds["requests"],
        "holds_non_201": holds["non201"], "holds_socket_errors": sum(
            holds.get(k, 0) for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout")),
        "ratio": round(holds["rps"] / floor["rps"], 3) if floor["rps"] else None,
        **contest, "tenant": slug,
    }


def print_summary(r: dict) -> None:
    def mark(ok: bool) -> str:
        return "meets" if ok else "MISSES"

    ratio, p99 = r.get("ratio"), r.get("holds_p99_ms")
    lines = [
        f"cores {r['cores']}, gateway {r['gateway_workers']} workers x {r['gateway_threads']} threads, "
        f"{r['connections']} connections, {r['duration_s']} s per phase, load by {r['load_generator']}",
        f"floor  hello   {r.get('hello_rps', 0):8.0f} req/s  p50 {r.get('hello_p50_ms')} ms  "
        f"p99 {r.get('hello_p99_ms')} ms",
        f"holds  create  {r.get('holds_rps', 0):8.0f} req/s  p50 {r.get('holds_p50_ms')} ms  p99 {p99} ms  "
        f"non-201 {r.get('holds_non_201')}",
    ]
    if ratio is not None and p99 is not None:
        lines.append(f"goal   ratio {ratio} (goal >= 0.4: {mark(ratio >= 0.4)}), "
                     f"holds p99 {p99} ms (goal <= 25: {mark(p99 <= 25)})")
    if "double_holds" in r:
        lines.append(f"race   {r['race_buyers']} buyers for {r['race_seats']} seats: {r['race_won']} holds won, "
                     f"{r['race_seats_held']} seats held, double holds {r['double_holds']} "
                     f"(goal 0: {mark(r['double_holds'] == 0)}), mismatches {r['mismatches']}"
                     + f", hold records that disagree {r['record_mismatches']}")
    for line in lines:
        say(line)


if __name__ == "__main__":
    raise SystemExit(main())
