"""Stub servers of the boat operators (Astra Marine, Neva Travel) over real HTTP.

For tests and demos only (never in a production image). Each stub speaks its operator's
API as the handbook describes it (reference/suppliers.md) and reproduces the awkward
cases on demand through its control endpoint ``POST {base}/_control`` (JSON):

- ``reject_next``: the next N confirmations are refused (a sale rejected after payment);
- ``fail_next``: the next N calls answer 503 (a 5xx burst);
- ``slow_next`` / ``slow_seconds``: the next N calls are processed, then answered late
  (our timeout fires although the operator did the work);
- ``misspell``: answers use the misspelled keys seen in practice;
- ``expire_after_seconds``: unconfirmed orders lapse at the operator after that long;
- ``drop`` / ``cancel``: departure ids that vanish from / are marked canceled in the catalog;
- ``prices``: ticket type -> price override (rubles), ``available``: departure id -> seats;
- ``order_status``: our order id -> the status the operator reports (plant a mismatch);
- ``seated`` (Astra): also a seated ``DateTimeSeat`` service with 12 seats; ``seat_status``:
  event id -> the operator's seat id -> ``free`` | ``sold`` | ``reserved`` | ``selected``;
- ``down``: every call answers 503 until turned off; ``reset``: back to the defaults.

``GET {base}/_control`` shows the state (orders, calls). Start with ``StubServer``.
"""

from .server import StubServer, start_stubs

__all__ = ["StubServer", "start_stubs"]
