"""Holds in Redis: the fast, atomic, advisory path (one Lua script per operation).

Per sailing, two hashes share a hash tag so every script touches one cluster slot:
- ``...{sail:<id>}:seats``  seat id -> ``"<token>|<expires_ms>"`` (assigned seating)
- ``...{sail:<id>}:places`` token  -> ``"<quantity>|<expires_ms>"`` (free seating)
and ``...{sail:<id>}:ver``, a version every script that changes a hold increments. The
rendered seat statuses are cached under ``...:seatmap:<version>``, so a payload computed
from older state can never be served after a change, however the reads and writes race.
Expired entries are ignored on read and pruned on write, so Redis needs no sweeper.
Expiry instants are decided by the caller (the domain policy);
the scripts only enforce them atomically.

Redis is not the last line of defence: PostgreSQL's unique index on live tickets and the
sailing's capacity check are. Losing this data means at worst a conflict at order time.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

_PARSE = """
local function parse(v)
  local sep = string.find(v, '|', 1, true)
  return string.sub(v, 1, sep - 1), tonumber(string.sub(v, sep + 1))
end
"""

# KEYS: seats, version. ARGV: token, now_ms, expires_ms, key_ttl_ms, seat ids...
HOLD_SEATS = _PARSE + """
local token, now = ARGV[1], tonumber(ARGV[2])
local taken = {}
for i = 5, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v then
    local owner, exp = parse(v)
    if exp > now and owner ~= token then taken[#taken + 1] = ARGV[i] end
  end
end
if #taken > 0 then return {0, taken} end
local value = token .. '|' .. ARGV[3]
for i = 5, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], value) end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
redis.call('INCR', KEYS[2]); redis.call('PEXPIRE', KEYS[2], 86400000)
return {1, {}}
"""

# KEYS: places, version. ARGV: token, now_ms, expires_ms, key_ttl_ms, quantity, limit
HOLD_PLACES = _PARSE + """
local token, now = ARGV[1], tonumber(ARGV[2])
local quantity, limit = tonumber(ARGV[5]), tonumber(ARGV[6])
local held = 0
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local qty, exp = parse(entries[i + 1])
  if exp <= now then
    redis.call('HDEL', KEYS[1], entries[i])
  elseif entries[i] ~= token then
    held = held + tonumber(qty)
  end
end
if held + quantity > limit then return {0, math.max(limit - held, 0)} end
redis.call('HSET', KEYS[1], token, quantity .. '|' .. ARGV[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
redis.call('INCR', KEYS[2]); redis.call('PEXPIRE', KEYS[2], 86400000)
return {1, held + quantity}
"""

# KEYS: seats, places, version. ARGV: token, now_ms, expires_ms, key_ttl_ms, quantity, seat ids...
# Moves a live hold's expiry; answers 0 when any part of it is gone (expired or lost).
EXTEND = _PARSE + """
local token, now = ARGV[1], tonumber(ARGV[2])
if #ARGV >= 6 then
  for i = 6, #ARGV do
    local v = redis.call('HGET', KEYS[1], ARGV[i])
    if not v then return 0 end
    local owner, exp = parse(v)
    if owner ~= token or exp <= now then return 0 end
  end
  for i = 6, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], token .. '|' .. ARGV[3]) end
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
else
  local v = redis.call('HGET', KEYS[2], token)
  if not v then return 0 end
  local qty, exp = parse(v)
  if exp <= now then return 0 end
  redis.call('HSET', KEYS[2], token, ARGV[5] .. '|' .. ARGV[3])
  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
end
redis.call('INCR', KEYS[3]); redis.call('PEXPIRE', KEYS[3], 86400000)
return 1
"""

# KEYS: seats, places, version. ARGV: token, seat ids...  Removes only what the token owns.
RELEASE = _PARSE + """
local token = ARGV[1]
local removed = redis.call('HDEL', KEYS[2], token)
for i = 2, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v then
    local owner = parse(v)
    if owner == token then removed = removed + redis.call('HDEL', KEYS[1], ARGV[i]) end
  end
end
redis.call('INCR', KEYS[3]); redis.call('PEXPIRE', KEYS[3], 86400000)
return removed
"""


@dataclass(frozen=True, slots=True)
class SeatClaim:
    ok: bool
    taken: list[str]


@dataclass(frozen=True, slots=True)
class LiveHolds:
    seats: set[str]
    places: int


@dataclass(frozen=True, slots=True)
class PlaceClaim:
    ok: bool
    count: int  # places now held on success; places still available on failure


class RedisHoldStore:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._hold_seats = client.register_script(HOLD_SEATS)
        self._hold_places = client.register_script(HOLD_PLACES)
        self._extend = client.register_script(EXTEND)
        self._release = client.register_script(RELEASE)

    # --- keys ------------------------------------------------------------------------
    def _key(self, tenant_id: str, sailing_id: str, kind: str) -> str:
        return f"{self._prefix}t:{tenant_id}:{{sail:{sailing_id}}}:{kind}"

    def version_key(self, tenant_id: str, sailing_id: str) -> str:
        return self._key(tenant_id, sailing_id, "ver")

    # --- writes ----------------------------------------------------------------------
    def hold_seats(self, tenant_id: str, sailing_id: str, token: str, seat_ids: list[str],
                   now_ms: int, expires_ms: int, key_ttl_ms: int) -> SeatClaim:
        ok, taken = self._hold_seats(
            keys=[self._key(tenant_id, sailing_id, "seats"), self.version_key(tenant_id, sailing_id)],
            args=[token, now_ms, expires_ms, key_ttl_ms, *seat_ids])
        return SeatClaim(ok=bool(ok), taken=[s.decode() for s in taken])

    def hold_places(self, tenant_id: str, sailing_id: str, token: str, quantity: int, limit: int,
                    now_ms: int, expires_ms: int, key_ttl_ms: int) -> PlaceClaim:
        ok, count = self._hold_places(
            keys=[self._key(tenant_id, sailing_id, "places"), self.version_key(tenant_id, sailing_id)],
            args=[token, now_ms, expires_ms, key_ttl_ms, quantity, limit])
        return PlaceClaim(ok=bool(ok), count=int(count))

    def extend(self, tenant_id: str, sailing_id: str, token: str, seat_ids: list[str], quantity: int,
               now_ms: int, expires_ms: int, key_ttl_ms: int) -> bool:
        return bool(self._extend(
            keys=[self._key(tenant_id, sailing_id, "seats"), self._key(tenant_id, sailing_id, "places"),
                  self.version_key(tenant_id, sailing_id)],
            args=[token, now_ms, expires_ms, key_ttl_ms, quantity, *seat_ids]))

    def release(self, tenant_id: str, sailing_id: str, token: str, seat_ids: list[str]) -> int:
        return int(self._release(
            keys=[self._key(tenant_id, sailing_id, "seats"), self._key(tenant_id, sailing_id, "places"),
                  self.version_key(tenant_id, sailing_id)],
            args=[token, *seat_ids]))

    # --- reads -----------------------------------------------------------------------
    def held_seats(self, tenant_id: str, sailing_id: str, now_ms: int) -> dict[str, int]:
        """Live seat holds of a sailing: seat id -> expiry (ms)."""
        raw = self._redis.hgetall(self._key(tenant_id, sailing_id, "seats"))
        live = {}
        for seat, value in raw.items():
            _, _, expires = value.decode().partition("|")
            if int(expires) > now_ms:
                live[seat.decode()] = int(expires)
        return live

    def live_holds(self, tenant_id: str, sailing_ids: list[str], now_ms: int) -> dict[str, LiveHolds]:
        """What is held right now per sailing (seat ids and free places), in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for sailing_id in sailing_ids:
            pipe.hgetall(self._key(tenant_id, sailing_id, "seats"))
            pipe.hvals(self._key(tenant_id, sailing_id, "places"))
        results = pipe.execute()
        found = {}
        for index, sailing_id in enumerate(sailing_ids):
            seats, places = results[2 * index], results[2 * index + 1]
            live_seats = {seat.decode() for seat, value in seats.items()
                          if int(value.decode().partition("|")[2]) > now_ms}
            count = 0
            for value in places:
                qty, _, expires = value.decode().partition("|")
                if int(expires) > now_ms:
                    count += int(qty)
            found[sailing_id] = LiveHolds(seats=live_seats, places=count)
        return found

    def next_expiry_ms(self, tenant_id: str, sailing_id: str, now_ms: int) -> int | None:
        live = self.held_seats(tenant_id, sailing_id, now_ms)
        return min(live.values()) if live else None

    # --- seat status cache -------------------------------------------------------------
    def seatmap_version(self, tenant_id: str, sailing_id: str) -> str:
        return (self._redis.get(self.version_key(tenant_id, sailing_id)) or b"0").decode()

    def cached_seatmap(self, tenant_id: str, sailing_id: str, version: str) -> bytes | None:
        return self._redis.get(self._key(tenant_id, sailing_id, f"seatmap:{version}"))

    def cache_seatmap(self, tenant_id: str, sailing_id: str, version: str, payload: bytes, ttl_ms: int) -> None:
        if ttl_ms > 0:
            self._redis.set(self._key(tenant_id, sailing_id, f"seatmap:{version}"), payload, px=ttl_ms)

    def invalidate_seatmap(self, tenant_id: str, sailing_id: str) -> None:
        """Called when seats change outside the hold scripts (e.g. a sale)."""
        key = self.version_key(tenant_id, sailing_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.pexpire(key, 86_400_000)
        pipe.execute()
