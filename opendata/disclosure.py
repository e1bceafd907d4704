"""Statistical disclosure control of the open data: nothing published may single out a person
(docs/opendata.md, "Nothing that singles out a person", says why each rule is there).

- A count under ``THRESHOLD`` is secret: published as null (an empty cell in the CSV).
- A count from ``THRESHOLD`` up is rounded down to a multiple of ``BASE``: 5 means 5 to 9, 10
  means 10 to 14. With ``THRESHOLD == BASE`` every published value, the secret included, stands
  for ``BASE`` consecutive counts (``count_interval``), so the figures of two months are
  consistent with any number from 1 to ``BASE - 1`` of actions added by one person: a newcomer's
  activity cannot be read from their difference (tests/opendata/test_disclosure.py proves it).
  Rounding to the nearest multiple would not do: 3 (secret) then 3 + 4 = 7, published 5, is
  fine, but 4 then 4 + 4 = 8 would be published 10, which only 4 and 4 explain.
- A magnitude derived from a count (km and CO2 saved by the parcels pooled) is secret with its
  count, and otherwise published as its mean per unit times the published count: it tells no
  more of the count than the published count does (km divided by the mean km per parcel would
  otherwise give the exact number of parcels back).
- No total is published beside the neighbourhoods (a total next to its cells lets a secret cell
  be narrowed down by difference); whoever needs one sums the published cells.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

THRESHOLD = 5
BASE = 5
# km and kg are published to a tenth.
MAGNITUDE_STEP = Decimal("0.1")


def protect_count(count: int) -> int | None:
    """A count as published: None (secret) under THRESHOLD, else rounded down to BASE."""
    if count < THRESHOLD:
        return None
    return count - count % BASE


def count_interval(published: int | None) -> range:
    """The counts a published value stands for."""
    if published is None:
        return range(0, THRESHOLD)
    return range(published, published + BASE)


def protect_magnitude(value: float, *, count: int, published: int | None) -> Decimal | None:
    """``value``, a total over ``count`` units (km saved by ``count`` parcels), as published:
    secret with its count; else the mean per unit times the published count, to a tenth."""
    if published is None or count <= 0:
        return None
    scaled = Decimal(value) * published / count
    return scaled.quantize(MAGNITUDE_STEP, rounding=ROUND_HALF_UP)
