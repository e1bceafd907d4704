"""Order pooling: merchants and their orders, receiving choices, relay points, hubs, couriers,
batches with their rounds and stops, and the impact of each batch.

Invariants live here as database constraints: one order per merchant and idempotency key; an
order is in at most one active batch (a partial unique index on the assignment table); one open
batch per neighbourhood and day; one stop per position in a round; windows that end after they
start; progress between 0 and 100.

One module per concept, every model and choice set re-exported here (``from pooling.models import
Batch``): ``choices``, ``places`` (merchants, hubs, couriers, relay points), ``orders`` (receiving
preferences, orders, parcels, windows), ``batches`` (batches, routes, stops, assignments, impact).
"""

from pooling.models.batches import Assignment, Batch, BatchImpact, Route, Stop
from pooling.models.choices import (
    SIZE_UNITS,
    WEIGHT_KG,
    DropKind,
    ParcelSize,
    ParcelWeight,
    ReceiveMode,
    VehicleKind,
    WalkProfile,
)
from pooling.models.orders import DeliveryDetails, Order, OrderWindow, Parcel, ReceivingPreference
from pooling.models.places import Courier, CourierDutyChange, Hub, Merchant, RelayPoint

__all__ = [
    "SIZE_UNITS",
    "WEIGHT_KG",
    "Assignment",
    "Batch",
    "BatchImpact",
    "Courier",
    "CourierDutyChange",
    "DeliveryDetails",
    "DropKind",
    "Hub",
    "Merchant",
    "Order",
    "OrderWindow",
    "Parcel",
    "ParcelSize",
    "ParcelWeight",
    "ReceiveMode",
    "ReceivingPreference",
    "RelayPoint",
    "Route",
    "Stop",
    "VehicleKind",
    "WalkProfile",
]
