"""Every write of the pooling app, one module per concept:

- ``orders``: orders in (merchant webhook, residents' declarations), receiving choices, cancel;
- ``batching``: asking for a batch, planning it (claim, compute, save), the cut-off sweep;
- ``assignment``: each parcel's drop within its resident's choice, and the stops;
- ``impact``: km and CO2 against the two baselines;
- ``couriers``: rounds started, stops delivered or failed, live positions and ETAs;
- ``places``: merchants, hubs, couriers, relay points.
"""
