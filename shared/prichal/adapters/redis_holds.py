"""Holds in Redis: the fast, atomic, advisory path (one Lua script per operation).

Per sailing (keys share a hash tag, ``{sail:<id>}``):
- ``seats``   hash  seat id -> ``"<token>|<expires_ms>"``   live seat claims
- ``places``  hash  token -> ``"<quantity>|<expires_ms>"``   live free-seating claims
- ``taken``   set   seats with a live ticket (reserved by an unpaid order, or sold), a
              copy of PostgreSQL refreshed every ``taken_ttl``; ``taken:loaded`` marks it
              complete, so after a restart or a flush the scripts ask for a reload
- ``owners``  hash  ``h:<holder>`` -> ``"<token>|<quantity>|<expires_ms>;..."`` the claims
              that count against the holder's cap (``holder``: the signed client id, else
              the address), and ``t:<token>`` -> its holder; a hold reads only its own
              holder's claims, so a busy sailing costs it nothing more. A released or expired
              hold stops counting, one that became an order counts until its own expiry
- ``ver``     a version every change increments; rendered seat maps are cached under
              ``seatmap:<version>``, so a payload built from older state is never served
Per hold: ``hold:<token>`` hash (sailing, seats, quantity, client, created, expires,
status) for seat holds, which live only here: a seat hold never touches PostgreSQL until
it becomes an order. Free-seating holds are also recorded in PostgreSQL, where the
capacity check lives.

Rate limits are counted by the same script that claims, so a hold is one round trip.
Expired entries are ignored on read and pruned on write: Redis needs no sweeper. Expiry
instants are decided by the caller (the domain policy); the scripts enforce them.

Redis is not the last line of defence: PostgreSQL's unique index on live tickets and the
sailing's capacity check are. Losing this data means at worst a conflict at order time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from prichal.domain.holds import Hold, HoldStatus

_COMMON = """
local function parse(v)
  local sep = string.find(v, '|', 1, true)
  return string.sub(v, 1, sep - 1), tonumber(string.sub(v, sep + 1))
end
-- Fixed-window counter; answers the seconds to wait when over the limit (limit 0 = none).
local function over_limit(key, limit, window)
  limit = tonumber(limit)
  if limit <= 0 then return nil end
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, window) end
  if n > limit then return math.max(redis.call('TTL', key), 1) end
  return nil
end
local function bump(key)
  redis.call('INCR', key)
  redis.call('PEXPIRE', key, 86400000)
end
local function keep(key, ttl)
  if redis.call('PTTL', key) < tonumber(ttl) then redis.call('PEXPIRE', key, ttl) end
end
-- The holder's claims as {token, quantity, expires}, expired ones left out (and forgotten).
local function claims_of(key, holder, now)
  local live, kept = {}, {}
  for token, qty, exp in string.gmatch(redis.call('HGET', key, 'h:' .. holder) or '', '([^|;]+)|(%d+)|(%d+)') do
    if tonumber(exp) > now then
      live[#live + 1] = {token, tonumber(qty), tonumber(exp)}
      kept[#kept + 1] = token .. '|' .. qty .. '|' .. exp
    else
      redis.call('HDEL', key, 't:' .. token)
    end
  end
  return live, kept
end
local function store_claims(key, holder, kept)
  if #kept == 0 then redis.call('HDEL', key, 'h:' .. holder)
  else redis.call('HSET', key, 'h:' .. holder, table.concat(kept, ';')) end
end
-- The cap check: nil when within it (cap 0 = none), else what the holder already holds.
local function over_cap(key, holder, token, now, quantity, cap)
  cap = tonumber(cap)
  if cap <= 0 or holder == '' then return nil end
  local held = 0
  for _, claim in ipairs((claims_of(key, holder, now))) do
    if claim[1] ~= token then held = held + claim[2] end
  end
  if held + quantity > cap then return held end
  return nil
end
-- Replace the token's claim by (quantity, expires); quantity 0 drops it.
local function set_claim(key, holder, token, quantity, expires, now)
  local live = claims_of(key, holder, now)
  local kept = {}
  for _, claim in ipairs(live) do
    if claim[1] ~= token then kept[#kept + 1] = claim[1] .. '|' .. claim[2] .. '|' .. claim[3] end
  end
  if tonumber(quantity) > 0 then kept[#kept + 1] = token .. '|' .. quantity .. '|' .. expires end
  store_claims(key, holder, kept)
end
local function own(key, holder, token, quantity, expires, ttl, now)
  if holder == '' then return end
  set_claim(key, holder, token, quantity, expires, now)
  redis.call('HSET', key, 't:' .. token, holder)
  keep(key, ttl)
end
local function claim_quantity(key, holder, token, now)
  for _, claim in ipairs((claims_of(key, holder, now))) do
    if claim[1] == token then return claim[2] end
  end
  return nil
end
local function move_owner(key, token, expires, ttl, now)
  local holder = redis.call('HGET', key, 't:' .. token)
  if not holder then return end
  local qty = claim_quantity(key, holder, token, now)
  if qty then set_claim(key, holder, token, qty, expires, now); keep(key, ttl) end
end
local function disown(key, token, now)
  local holder = redis.call('HGET', key, 't:' .. token)
  if not holder then return end
  set_claim(key, holder, token, 0, 0, now)
  redis.call('HDEL', key, 't:' .. token)
end
"""

# KEYS: seats, ver, taken, taken:loaded, hold record, rate(client), rate(address), owners
# ARGV: token, now_ms, expires_ms, key_ttl_ms, record_ttl_ms, client, created_ms, sailing id,
#       client_limit, address_limit, window_s, holder, cap, seat ids...
# -> {1} held | {0, taken seats} | {2, retry_after} | {3} reload the taken set first
#    | {4, seats the holder already holds} over the per-client cap
HOLD_SEATS = _COMMON + """
if redis.call('EXISTS', KEYS[4]) == 0 then return {3} end
local wait = over_limit(KEYS[6], ARGV[9], ARGV[11]) or over_limit(KEYS[7], ARGV[10], ARGV[11])
if wait then return {2, wait} end
local token, now = ARGV[1], tonumber(ARGV[2])
local held = over_cap(KEYS[8], ARGV[12], token, now, #ARGV - 13, ARGV[13])
if held then return {4, held} end
local taken = {}
for i = 14, #ARGV do
  if redis.call('SISMEMBER', KEYS[3], ARGV[i]) == 1 then
    taken[#taken + 1] = ARGV[i]
  else
    local v = redis.call('HGET', KEYS[1], ARGV[i])
    if v then
      local owner, exp = parse(v)
      if exp > now and owner ~= token then taken[#taken + 1] = ARGV[i] end
    end
  end
end
if #taken > 0 then return {0, taken} end
local value = token .. '|' .. ARGV[3]
local seats = {}
for i = 14, #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], value)
  seats[#seats + 1] = ARGV[i]
end
keep(KEYS[1], ARGV[4])
own(KEYS[8], ARGV[12], token, #seats, ARGV[3], ARGV[4], now)
redis.call('HSET', KEYS[5], 'sailing', ARGV[8], 'seats', table.concat(seats, ','), 'quantity', #seats,
           'client', ARGV[6], 'created', ARGV[7], 'expires', ARGV[3], 'status', 'active')
redis.call('PEXPIRE', KEYS[5], ARGV[5])
bump(KEYS[2])
return {1}
"""

# KEYS: places, ver, rate(client), rate(address), owners
# ARGV: token, now_ms, expires_ms, key_ttl_ms, quantity, limit, client_limit, address_limit, window_s,
#       holder, cap
# -> {1, held} | {0, still available} | {2, retry_after} | {4, places the holder already holds}
HOLD_PLACES = _COMMON + """
local wait = over_limit(KEYS[3], ARGV[7], ARGV[9]) or over_limit(KEYS[4], ARGV[8], ARGV[9])
if wait then return {2, wait} end
local token, now = ARGV[1], tonumber(ARGV[2])
local quantity, limit = tonumber(ARGV[5]), tonumber(ARGV[6])
local mine = over_cap(KEYS[5], ARGV[10], token, now, quantity, ARGV[11])
if mine then return {4, mine} end
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
keep(KEYS[1], ARGV[4])
own(KEYS[5], ARGV[10], token, quantity, ARGV[3], ARGV[4], now)
bump(KEYS[2])
return {1, held + quantity}
"""

# KEYS: seats, places, ver, hold record, owners. ARGV: token, now_ms, expires_ms, key_ttl_ms, quantity, seat ids...
# Moves a live hold's expiry; 0 when any part of it is gone (expired, released, lost).
EXTEND = _COMMON + """
local token, now = ARGV[1], tonumber(ARGV[2])
if #ARGV >= 6 then
  if redis.call('HGET', KEYS[4], 'status') ~= 'active' then return 0 end
  for i = 6, #ARGV do
    local v = redis.call('HGET', KEYS[1], ARGV[i])
    if not v then return 0 end
    local owner, exp = parse(v)
    if owner ~= token or exp <= now then return 0 end
  end
  for i = 6, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], token .. '|' .. ARGV[3]) end
  keep(KEYS[1], ARGV[4])
  redis.call('HSET', KEYS[4], 'expires', ARGV[3])
else
  local v = redis.call('HGET', KEYS[2], token)
  if not v then return 0 end
  local qty, exp = parse(v)
  if exp <= now then return 0 end
  redis.call('HSET', KEYS[2], token, ARGV[5] .. '|' .. ARGV[3])
  keep(KEYS[2], ARGV[4])
end
move_owner(KEYS[5], token, ARGV[3], ARGV[4], now)
bump(KEYS[3])
return 1
"""

# KEYS: seats, places, ver, hold record, taken, taken:loaded, owners
# ARGV: token, new status ('released' | 'ordered' | ''), seat ids...
# Drops what the token claims; 'ordered' also marks its seats taken (a reserved ticket now
# guards them) and keeps them counted against the holder's cap until the hold's expiry;
# the record keeps the new status for reads until it expires.
RELEASE = _COMMON + """
local token = ARGV[1]
local removed = redis.call('HDEL', KEYS[2], token)
if ARGV[2] ~= 'ordered' then disown(KEYS[7], token, 0) end  -- 0: prune nothing here; the next hold does
for i = 3, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v then
    local owner = parse(v)
    if owner == token then removed = removed + redis.call('HDEL', KEYS[1], ARGV[i]) end
  end
  if ARGV[2] == 'ordered' and redis.call('EXISTS', KEYS[6]) == 1 then redis.call('SADD', KEYS[5], ARGV[i]) end
end
if ARGV[2] ~= '' and redis.call('EXISTS', KEYS[4]) == 1 then redis.call('HSET', KEYS[4], 'status', ARGV[2]) end
bump(KEYS[3])
return removed
"""

# KEYS: taken, taken:loaded, ver. ARGV: 'add' | 'remove', seat ids...
TAKEN = _COMMON + """
if redis.call('EXISTS', KEYS[2]) == 1 then
  for i = 2, #ARGV do
    if ARGV[1] == 'add' then redis.call('SADD', KEYS[1], ARGV[i]) else redis.call('SREM', KEYS[1], ARGV[i]) end
  end
end
bump(KEYS[3])
return 1
"""


@dataclass(frozen=True, slots=True)
class Claim:
    ok: bool
    taken: list[str]  # seats held or sold by someone else
    retry_after: int | None = None  # set when rate-limited
    reload: bool = False  # the taken set must be loaded from the database first
    over_cap: int | None = None  # set when the holder's cap is reached: what it already holds


@dataclass(frozen=True, slots=True)
class PlaceClaim:
    ok: bool
    count: int  # places now held on success; places still available on failure
    retry_after: int | None = None
    over_cap: int | None = None


@dataclass(frozen=True, slots=True)
class LiveHolds:
    seats: set[str]
    places: int


@dataclass(frozen=True, slots=True)
class RateKeys:
    client: str  # the holder: a signed client id, else the address
    address: str | None
    client_limit: int
    address_limit: int
    window_s: int = 60
    cap: int = 0  # seats (places) one holder may hold per sailing; 0 = no cap


# KEYS: rate(client), rate(address). ARGV: client_limit, address_limit, window_s -> 0 | retry_after
COUNT_REQUEST = _COMMON + """
return over_limit(KEYS[1], ARGV[1], ARGV[3]) or over_limit(KEYS[2], ARGV[2], ARGV[3]) or 0
"""


class RedisHoldStore:
    def __init__(self, client: redis.Redis, prefix: str, taken_ttl_ms: int = 600_000) -> None:
        self._redis = client
        self._prefix = prefix
        self._taken_ttl_ms = taken_ttl_ms
        self._hold_seats = client.register_script(HOLD_SEATS)
        self._hold_places = client.register_script(HOLD_PLACES)
        self._extend = client.register_script(EXTEND)
        self._release = client.register_script(RELEASE)
        self._taken = client.register_script(TAKEN)
        self._count_request = client.register_script(COUNT_REQUEST)

    # --- keys ------------------------------------------------------------------------
    def _key(self, tenant_id: str, sailing_id: str, kind: str) -> str:
        return f"{self._prefix}t:{tenant_id}:{{sail:{sailing_id}}}:{kind}"

    def _record_key(self, tenant_id: str, token: str) -> str:
        return f"{self._prefix}t:{tenant_id}:hold:{token}"

    def _rate_key(self, tenant_id: str, scope: str, who: str) -> str:
        return f"{self._prefix}rl:{tenant_id}:{scope}:{who}"

    def version_key(self, tenant_id: str, sailing_id: str) -> str:
        return self._key(tenant_id, sailing_id, "ver")

    def _rate_args(self, tenant_id: str, rate: RateKeys, scope: str = "") -> tuple[list[str], list[int]]:
        address_key = self._rate_key(tenant_id, f"{scope}address", rate.address or "-")
        return ([self._rate_key(tenant_id, f"{scope}client", rate.client), address_key],
                [rate.client_limit, rate.address_limit if rate.address else 0, rate.window_s])

    def count_request(self, tenant_id: str, scope: str, rate: RateKeys) -> int | None:
        """Count one request of ``scope`` (e.g. ``order``) against both limits: ``None``
        when within them, else the seconds to wait."""
        keys, args = self._rate_args(tenant_id, rate, f"{scope}-")
        wait = int(self._count_request(keys=keys, args=args))
        return wait or None

    # --- claims ------------------------------------------------------------------------
    def hold_seats(self, hold: Hold, now_ms: int, key_ttl_ms: int, record_ttl_ms: int, rate: RateKeys) -> Claim:
        rate_keys, rate_args = self._rate_args(hold.tenant_id, rate)
        t, s = hold.tenant_id, hold.sailing_id
        answer = self._hold_seats(
            keys=[self._key(t, s, "seats"), self.version_key(t, s), self._key(t, s, "taken"),
                  self._key(t, s, "taken:loaded"), self._record_key(t, hold.token), *rate_keys,
                  self._key(t, s, "owners")],
            args=[hold.token, now_ms, epoch_ms(hold.expires_at), key_ttl_ms, record_ttl_ms, hold.client_id,
                  epoch_ms(hold.created_at), hold.sailing_id, *rate_args, rate.client if rate.cap else "", rate.cap,
                  *hold.seat_ids])
        code = int(answer[0])
        if code == 3:
            return Claim(ok=False, taken=[], reload=True)
        if code == 2:
            return Claim(ok=False, taken=[], retry_after=int(answer[1]))
        if code == 4:
            return Claim(ok=False, taken=[], over_cap=int(answer[1]))
        return Claim(ok=code == 1, taken=[] if code == 1 else sorted(x.decode() for x in answer[1]))

    def hold_places(self, hold: Hold, limit: int, now_ms: int, key_ttl_ms: int, rate: RateKeys) -> PlaceClaim:
        rate_keys, rate_args = self._rate_args(hold.tenant_id, rate)
        t, s = hold.tenant_id, hold.sailing_id
        code, count = self._hold_places(
            keys=[self._key(t, s, "places"), self.version_key(t, s), *rate_keys, self._key(t, s, "owners")],
            args=[hold.token, now_ms, epoch_ms(hold.expires_at), key_ttl_ms, hold.quantity, limit, *rate_args,
                  rate.client if rate.cap else "", rate.cap])
        if int(code) == 2:
            return PlaceClaim(ok=False, count=0, retry_after=int(count))
        if int(code) == 4:
            return PlaceClaim(ok=False, count=0, over_cap=int(count))
        return PlaceClaim(ok=int(code) == 1, count=int(count))

    def load_taken(self, tenant_id: str, sailing_id: str, seat_ids: set[str]) -> None:
        """Replace the taken set with the database's live tickets and mark it complete."""
        taken, loaded = self._key(tenant_id, sailing_id, "taken"), self._key(tenant_id, sailing_id, "taken:loaded")
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(taken)
        if seat_ids:
            pipe.sadd(taken, *seat_ids)
            pipe.pexpire(taken, self._taken_ttl_ms + 60_000)
        pipe.set(loaded, 1, px=self._taken_ttl_ms)
        pipe.execute()

    def extend(self, hold: Hold, now_ms: int, expires_ms: int, key_ttl_ms: int) -> bool:
        t, s = hold.tenant_id, hold.sailing_id
        return bool(self._extend(
            keys=[self._key(t, s, "seats"), self._key(t, s, "places"), self.version_key(t, s),
                  self._record_key(t, hold.token), self._key(t, s, "owners")],
            args=[hold.token, now_ms, expires_ms, key_ttl_ms, hold.quantity, *hold.seat_ids]))

    def release(self, tenant_id: str, sailing_id: str, token: str, seat_ids: list[str],
                status: HoldStatus | None = None) -> int:
        """Drop the token's claims; ``status`` (released / ordered) is kept on its record."""
        t, s = tenant_id, sailing_id
        return int(self._release(
            keys=[self._key(t, s, "seats"), self._key(t, s, "places"), self.version_key(t, s),
                  self._record_key(t, token), self._key(t, s, "taken"), self._key(t, s, "taken:loaded"),
                  self._key(t, s, "owners")],
            args=[token, status.value if status else "", *seat_ids]))

    def mark_taken(self, tenant_id: str, sailing_id: str, seat_ids: list[str], taken: bool) -> None:
        """Seats got (or lost) a live ticket outside the hold scripts."""
        self._taken(keys=[self._key(tenant_id, sailing_id, "taken"), self._key(tenant_id, sailing_id, "taken:loaded"),
                          self.version_key(tenant_id, sailing_id)],
                    args=["add" if taken else "remove", *seat_ids])

    # --- reads -----------------------------------------------------------------------
    def hold(self, tenant_id: str, token: str) -> Hold | None:
        """A seat hold's record (free-seating holds are read from the database)."""
        raw = self._redis.hgetall(self._record_key(tenant_id, token))
        if not raw:
            return None
        record = {k.decode(): v.decode() for k, v in raw.items()}
        return Hold(token=token, tenant_id=tenant_id, sailing_id=record["sailing"], client_id=record["client"],
                    seat_ids=tuple(s for s in record["seats"].split(",") if s), quantity=int(record["quantity"]),
                    status=HoldStatus(record["status"]), created_at=_instant(record["created"]),
                    expires_at=_instant(record["expires"]))

    def held_seats(self, tenant_id: str, sailing_id: str, now_ms: int) -> dict[str, int]:
        """Live seat holds of a sailing: seat id -> expiry (ms)."""
        raw = self._redis.hgetall(self._key(tenant_id, sailing_id, "seats"))
        live = {}
        for seat, value in raw.items():
            _, _, expires = value.decode().partition("|")
            if int(expires) > now_ms:
                live[seat.decode()] = int(expires)
        return live

    def seat_claims(self, tenant_id: str, sailing_id: str, now_ms: int) -> dict[str, tuple[str, int]]:
        """Live seat holds of a sailing: seat id -> (hold token, expiry in ms)."""
        raw = self._redis.hgetall(self._key(tenant_id, sailing_id, "seats"))
        live = {}
        for seat, value in raw.items():
            token, _, expires = value.decode().partition("|")
            if int(expires) > now_ms:
                live[seat.decode()] = (token, int(expires))
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

    # --- seat status cache -------------------------------------------------------------
    def seatmap_version(self, tenant_id: str, sailing_id: str) -> str:
        return (self._redis.get(self.version_key(tenant_id, sailing_id)) or b"0").decode()

    def cached_seatmap(self, tenant_id: str, sailing_id: str, version: str) -> bytes | None:
        return self._redis.get(self._key(tenant_id, sailing_id, f"seatmap:{version}"))

    def cache_seatmap(self, tenant_id: str, sailing_id: str, version: str, payload: bytes, ttl_ms: int) -> None:
        if ttl_ms > 0:
            self._redis.set(self._key(tenant_id, sailing_id, f"seatmap:{version}"), payload, px=ttl_ms)

    def invalidate_seatmap(self, tenant_id: str, sailing_id: str) -> None:
        """Called when seats change outside the scripts (e.g. a ticket inserted by hand)."""
        key = self.version_key(tenant_id, sailing_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.pexpire(key, 86_400_000)
        pipe.execute()


def epoch_ms(instant: datetime) -> int:
    """Instants as the hold scripts keep them: milliseconds since the epoch."""
    return int(instant.timestamp() * 1000)


def _instant(ms: str) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, UTC)
