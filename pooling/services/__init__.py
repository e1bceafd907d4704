"""Every write of the pooling app, one module per concept:

- ``orders``: orders in (merchant webhook, residents' declarations), receiving choices, cancel;
- ``batching``: asking for a batch, planning it (claim, compute, save), the cut-off sweep;
- ``couriers``: rounds started, stops delivered or failed, live positions and ETAs;
- ``places``: merchants, hubs, couriers, relay points.

Drops, stops, rounds and impact are computed in ``pooling.planning``.
"""
