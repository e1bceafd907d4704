"""Every write of the pooling app, one module per concept:

- ``orders``: orders in (merchant webhook, residents' declarations), receiving choices, cancel;
- ``batches``: asking for a batch or a re-plan, the cut-off sweep;
- ``couriers``: rounds started, stops delivered or failed, live positions and ETAs;
- ``places``: merchants, hubs, couriers, relay points;
- ``impact``: the stored CO2 of planned batches restated after the factors changed.

Planning a batch (claim, drops, stops, rounds, impact, save) is ``pooling.planning``.
"""
