"""Planning a batch: from the orders it holds to rounds, stops and their impact.

One module per step, in the order a run takes them:

- ``pipeline``: a run from start to end (claim, then the steps below), with its progress on the
  batch row; a run that breaks fails the batch;
- ``inputs``: everything a run needs, read once: couriers, relay points and hosts, orders with
  the drops their residents accept;
- ``compute``: travel matrices, drops and stops (``assignment``), rounds (``vrp``) and impact
  (``impact``), no database writes; then the path of every leg;
- ``save``: the plan written (only on the version the run started from), and people told.

And what those steps use:

- ``assignment``: each parcel's drop within its resident's choice, and the stops;
- ``vrp``: the rounds, solved by PyVRP (``vrp_problem``: the problem and plan types and the rules
  a plan keeps; ``vrp_build``: PyVRP's data; ``vrp_rounds``: its solutions read back as rounds);
- ``impact``: km and CO2 against the two baselines;
- ``clock``: the batch day's seconds, and time windows as intervals.
"""
