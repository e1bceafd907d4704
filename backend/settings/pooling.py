"""Pooling: orders, relay points, batches, courier rounds, impact (owned by pooling/).

Everything pooling/ reads from settings, in one module. See docs/pooling.md. Its periodic job is
in celery.py, the OpenAPI names of its choice sets in api.py.
"""

from .base import env

# Emission factors per vehicle type, in kg CO2e per vehicle-km, each with its source. Vans are
# diesel light commercial vehicles: 3.17 kg CO2e per litre of road diesel (upstream 0.66 +
# combustion 2.51, arrêté du 26 avril 2017, annex, the factor ADEME's Base Carbone uses for the
# "information GES des prestations de transport") times an urban delivery consumption of
# 9 L/100 km (an assumption: override POOLING_VAN_L_PER_100KM with the fleet's own figure).
POOLING_VAN_L_PER_100KM = env.float("POOLING_VAN_L_PER_100KM", default=9.0)
POOLING_EMISSION_FACTORS = {
    "van": {
        "kg_co2e_per_km": env.float(
            "POOLING_CO2_VAN_KG_PER_KM", default=round(3.17 * POOLING_VAN_L_PER_100KM / 100, 4)
        ),
        "source": "ADEME Base Carbone / arrêté du 26 avril 2017: road diesel 3.17 kg CO2e/L "
        "(well to wheel) x POOLING_VAN_L_PER_100KM (default 9 L/100 km, urban delivery)",
    },
    "cargo_bike": {
        "kg_co2e_per_km": env.float("POOLING_CO2_CARGO_BIKE_KG_PER_KM", default=0.013),
        "source": "ADEME, life-cycle estimate for an electric-assist bike (13 g CO2e/km, 94 % "
        "from manufacture); a cargo bike is heavier, so read this as a lower bound",
    },
    "foot": {
        "kg_co2e_per_km": env.float("POOLING_CO2_FOOT_KG_PER_KM", default=0.0),
        "source": "walking with a trolley: no vehicle emission counted",
    },
}
# The street-graph profile each vehicle is routed with: vans on the car network with its one-ways
# (the carriers' vans of baseline (b) too), cargo bikes on the bike network (contraflow lanes,
# cycle tracks), couriers on foot on the walking network.
POOLING_VEHICLE_PROFILES = {"cargo_bike": "bike", "van": "car", "foot": "walk"}
# A planning run that has not reported progress for this long was lost (worker and message gone):
# the cut-off sweep queues its batch again (a plan takes seconds; the solver's budget is small).
POOLING_PLANNING_STALE_SECONDS = env.int("POOLING_PLANNING_STALE_SECONDS", default=600)
# Cost per meter given to the solver for each vehicle (prefers bikes and feet over vans).
POOLING_VEHICLE_COST_PER_M = {"cargo_bike": 1, "foot": 1, "van": 3}
# Default capacities in volume units (a small parcel, about 10 L, is 1; medium 2, large 4, extra
# large 8) and kg: a delivery cargo bike's box holds about 1 m3 and 180 kg, a trolley 80 L, a van
# 3 m3 and 800 kg.
POOLING_DEFAULT_CAPACITY = {
    "cargo_bike": {"units": 100, "kg": 180},
    "foot": {"units": 8, "kg": 25},
    "van": {"units": 300, "kg": 800},
}
# Service time at a stop: a fixed part per place kind and a part per parcel (seconds).
POOLING_SERVICE_SECONDS = {"home": 120, "relay": 180, "host": 120}
POOLING_SERVICE_SECONDS_PER_PARCEL = env.int("POOLING_SERVICE_SECONDS_PER_PARCEL", default=20)
# The solver (PyVRP): wall-time budget of one plan, and an optional cap on its iterations (set in
# tests for plans that do not depend on the machine's speed).
POOLING_SOLVER_SECONDS = env.float("POOLING_SOLVER_SECONDS", default=2.0)
POOLING_SOLVER_MAX_ITERATIONS = env.int("POOLING_SOLVER_MAX_ITERATIONS", default=0) or None
POOLING_SOLVER_SEED = env.int("POOLING_SOLVER_SEED", default=1)
# A round (hub to hub) is planned within this time, so that rounds fit one after another.
POOLING_ROUND_MAX_SECONDS = env.int("POOLING_ROUND_MAX_SECONDS", default=7200)
# Baseline (b) solves one small problem per carrier, each with this budget.
POOLING_BASELINE_SECONDS = env.float("POOLING_BASELINE_SECONDS", default=0.3)
# The courier is "nearby" under this many meters along the street graph.
POOLING_NEARBY_METERS = env.float("POOLING_NEARBY_METERS", default=300.0)
# A new ETA is sent to residents when it moves by at least this much.
POOLING_ETA_NOTIFY_SECONDS = env.int("POOLING_ETA_NOTIFY_SECONDS", default=120)
# After this many failed attempts an order goes back to the sender instead of the pool.
POOLING_MAX_ATTEMPTS = env.int("POOLING_MAX_ATTEMPTS", default=2)
# Proof photos: size and types accepted.
POOLING_PROOF_PHOTO_MAX_BYTES = env.int("POOLING_PROOF_PHOTO_MAX_BYTES", default=5 * 1024 * 1024)
POOLING_PROOF_PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"]
# Webhook bodies larger than this are refused before parsing.
POOLING_WEBHOOK_MAX_BYTES = env.int("POOLING_WEBHOOK_MAX_BYTES", default=64 * 1024)

# --- Retention (docs/security.md, "What is kept, for how long, and why"; jobs in celery.py) -----
# A round's last courier position serves the ETAs of the round under way: forgotten after this.
POOLING_COURIER_POSITION_HOURS = env.int("POOLING_COURIER_POSITION_HOURS", default=24)
# Proof-of-delivery photos answer a complaint about a delivery: deleted (file and field) this
# many days after the stop was done.
POOLING_PROOF_PHOTO_DAYS = env.int("POOLING_PROOF_PHOTO_DAYS", default=30)
# The homes a round went to (home and neighbour-host stops, paths) are erased this many days after
# every order of the round ended; distances, counts and CO2 stay for the statistics.
POOLING_ADDRESS_DAYS = env.int("POOLING_ADDRESS_DAYS", default=30)

# --- Couriers' apps on weak networks (docs/pooling.md, "Offline couriers") --------------------
# Every courier action may carry the courier's own time (client_at): refused when further ahead
# of the server than this (a phone's clock drifts a little)...
POOLING_CLIENT_CLOCK_SKEW_SECONDS = env.int("POOLING_CLIENT_CLOCK_SKEW_SECONDS", default=300)
# ... or, for an action outside a round (duty, positions), older than this (a round's actions:
# older than the start of its day). Older duty changes are folded into the latest one.
POOLING_CLIENT_MAX_AGE_HOURS = env.int("POOLING_CLIENT_MAX_AGE_HOURS", default=48)
# A signature drawn on the phone (PNG or SVG): size accepted.
POOLING_SIGNATURE_MAX_BYTES = env.int("POOLING_SIGNATURE_MAX_BYTES", default=256 * 1024)
