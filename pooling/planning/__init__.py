"""Planning a batch: from the orders a batch holds to rounds, stops and their impact.

- ``assignment``: each parcel's drop within its resident's choice, and the stops;
- ``vrp``: the rounds, solved by PyVRP;
- ``impact``: km and CO2 against the two baselines;
- ``clock``: the batch day's seconds, and time windows as intervals.
"""
