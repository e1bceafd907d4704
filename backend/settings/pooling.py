"""Pooling: orders, relay points, batches, courier rounds, impact (owned by pooling/).

Everything pooling/ reads from settings, in one module. See docs/pooling.md. Its periodic job is
in celery.py, the OpenAPI names of its choice sets in api.py.
"""

from .base import env

# --- CO2 emission factors (docs/pooling.md, "CO2 factors") ------------------------------------------
# One table, per mode, in kg CO2e per vehicle-km: a central value and a low and a high value where
# the sources differ. Each value says where it comes from (source, ref: the ADEME element, or the
# repository, commit and path of the Impact CO2 data it was read in), what it covers (energy:
# "tank_to_wheel" or "well_to_wheel"; manufacturing: the vehicle's construction, maintenance and
# end of life, battery included; infrastructure: roads, never here), its year, and whether it was
# checked against its source ("verified": False is a judgement to be replaced by a sourced figure).
# The central value of a mode can be overridden by POOLING_CO2_<MODE>_KG_PER_KM, its range by
# POOLING_CO2_<MODE>_KG_PER_KM_LOW / _HIGH; a central value outside its range widens the range.
# After changing a factor, run `manage.py pooling_co2_restate` to restate the stored figures.
_IMPACT_CO2 = "incubateur-ademe/impactco2"
_IMPACT_CO2_2025 = f"{_IMPACT_CO2}@07d97e130ad1dc6b6d1d943c03f45ae12ea0a45a"
_IMPACT_CO2_JSON = f"{_IMPACT_CO2}@54cd4ea92200fda4584fe7f371cbbcf7dad1e42e"
_IMPACT_CO2_SCOPE = {"energy": "well_to_wheel", "manufacturing": True, "infrastructure": False}
_FUEL_ONLY = {"energy": "well_to_wheel", "manufacturing": False, "infrastructure": False}
_NOTHING = {"energy": "none", "manufacturing": False, "infrastructure": False}
# Road diesel, 3.17 kg CO2e per litre (upstream 0.66 + combustion 2.51): arrêté du 26 avril 2017
# (information GES des prestations de transport), annex, "Gazole routier".
DIESEL_KG_CO2E_PER_L = 3.17
# A fleet that knows its own urban consumption may give it: the van's central value is then that
# consumption times the diesel factor above (fuel only, well to wheel, no manufacturing).
POOLING_VAN_L_PER_100KM = env.float("POOLING_VAN_L_PER_100KM", default=None)
_VAN_CENTRAL = {
    "kg_co2e_per_km": 0.3246,
    "source": "Impact CO2 (ADEME), transport data, mode 'van': fuel 0.2371 + construction 0.0875",
    "ref": f"{_IMPACT_CO2_2025}:src/data/categories/deplacement.ts (id 35, slug 'van')",
    "url": "https://impactco2.fr/outils/transport",
    "scope": _IMPACT_CO2_SCOPE,
    "year": 2025,
    "verified": True,
}
if POOLING_VAN_L_PER_100KM is not None:
    _VAN_CENTRAL = {
        "kg_co2e_per_km": round(DIESEL_KG_CO2E_PER_L * POOLING_VAN_L_PER_100KM / 100, 4),
        "source": f"the fleet's own consumption, {POOLING_VAN_L_PER_100KM:g} L/100 km "
        "(POOLING_VAN_L_PER_100KM), x road diesel 3.17 kg CO2e/L",
        "ref": "arrêté du 26 avril 2017, annex (Gazole routier: 0.66 upstream + 2.51 combustion)",
        "url": "https://legal.tricoteuses.fr/articles/JORFARTI000034502756",
        "scope": _FUEL_ONLY,
        "year": 2017,
        "verified": True,
    }
POOLING_CO2_FACTORS_DEFAULT = {
    "van": {
        "label": "light commercial vehicle (≤ 3.5 t), diesel, urban parcel delivery",
        "central": _VAN_CENTRAL,
        "low": {
            "kg_co2e_per_km": 0.2262,
            "source": "ADEME's parcel delivery model (publicodes-impact-livraison), HBEFA curve "
            "for an average light commercial vehicle ('VUL moyen') at its default 30 km/h",
            "ref": "incubateur-ademe/publicodes-impact-livraison"
            "@cba83e29c15cb50b7d16100c26c8ca69b8363b94:src/livraison/méthode HBEFA.publicodes",
            "url": "https://github.com/incubateur-ademe/publicodes-impact-livraison",
            "scope": {"energy": "tank_to_wheel", "manufacturing": False, "infrastructure": False},
            "year": None,
            "verified": True,
        },
        "high": {
            "kg_co2e_per_km": 0.5072,
            "source": "level-1 value for a 3.5 t light commercial vehicle, express parcels, road "
            "diesel 0.160 L/km, x 3.17 kg CO2e/L",
            "ref": "arrêté du 10 avril 2012 (TRAT1209296A), annex II, Transport routier; "
            "arrêté du 26 avril 2017, annex (Gazole routier)",
            "url": "https://github.com/etalab/lois-non-codifiees-et-reglements-francais/blob/"
            "184c41a3a0acd691cec7a88bd023c3e6bbdcb58f/arrete/2012/"
            "arrete-du-10-avril-2012-trat1209296a/annexes/article-annexe-ii.md",
            "scope": _FUEL_ONLY,
            "year": 2012,
            "verified": True,
        },
    },
    "car": {
        "label": "average thermal car (reference, no vehicle of the plan)",
        "central": {
            "kg_co2e_per_km": 0.2176,
            "source": "Impact CO2 (ADEME), 'Voiture thermique': fuel 0.192 + construction "
            "0.0256, documented from Base Empreinte, road transport (Routier2)",
            "ref": f"{_IMPACT_CO2_JSON}:src/data/categories/deplacement.json (id 4)",
            "url": "https://base-empreinte.ademe.fr/documentation/base-carbone?docLink=Routier2",
            "scope": _IMPACT_CO2_SCOPE,
            "year": None,
            "verified": True,
        },
        "low": {
            "kg_co2e_per_km": 0.1423,
            "source": "Impact CO2 (ADEME), 2025 car model, 'voiturethermique': fuel 0.1106 + "
            "construction 0.0317 (possibly per passenger at an average occupancy: unconfirmed)",
            "ref": f"{_IMPACT_CO2_2025}:src/data/categories/deplacement.ts (id 4)",
            "url": "https://impactco2.fr/outils/transport",
            "scope": _IMPACT_CO2_SCOPE,
            "year": 2025,
            "verified": False,
        },
        "high": {
            "kg_co2e_per_km": 0.2276,
            "source": "Impact CO2 (ADEME), 'Modélisation de l'empreinte carbone de la voiture - "
            "2025', 'voiturethermique': fuel 0.1769 + construction 0.0507 (a version of the file "
            "whose commit the search index did not give)",
            "ref": f"{_IMPACT_CO2}:src/data/categories/deplacement.ts (id 4, commit unknown)",
            "url": "https://impactco2.fr/outils/transport",
            "scope": _IMPACT_CO2_SCOPE,
            "year": 2025,
            "verified": False,
        },
    },
    "cargo_bike": {
        "label": "electric-assist cargo bike",
        "central": {
            "kg_co2e_per_km": 0.0148,
            "source": "Impact CO2 (ADEME), 'triporteurelectrique' (vélo cargo): construction "
            "0.01183 + electricity 0.002997, from ADEME's XD Mobilités",
            "ref": f"{_IMPACT_CO2_2025}:src/data/categories/deplacement.ts (id 34)",
            "url": "https://impactco2.fr/outils/transport/triporteurelectrique",
            "scope": _IMPACT_CO2_SCOPE,
            "year": 2025,
            "verified": True,
        },
        "low": {
            "kg_co2e_per_km": 0.0110,
            "source": "ADEME Base Empreinte, electric-assist bike (element 28331) as Impact CO2 "
            "reads it: construction 0.00872 + electricity 0.00223 (a lighter vehicle)",
            "ref": f"{_IMPACT_CO2_JSON}:src/data/categories/deplacement.json (id 8, "
            "empreinteId 28331)",
            "url": "https://base-empreinte.ademe.fr/documentation/base-carbone?docLink=Routier2",
            "scope": _IMPACT_CO2_SCOPE,
            "year": None,
            "verified": True,
        },
        "high": {
            "kg_co2e_per_km": 0.030,
            "source": "judgement, no source found: twice the central value, for a heavier box and "
            "battery and a shorter life in daily delivery use",
            "ref": "",
            "url": "",
            "scope": _IMPACT_CO2_SCOPE,
            "year": None,
            "verified": False,
        },
    },
    "foot": {
        "label": "on foot, with a trolley",
        "central": {
            "kg_co2e_per_km": 0.0,
            "source": "Impact CO2 (ADEME), 'marche': total 0; the trolley is not counted",
            "ref": f"{_IMPACT_CO2_2025}:src/data/categories/deplacement.ts (id 30)",
            "url": "https://impactco2.fr/outils/transport",
            "scope": _NOTHING,
            "year": 2025,
            "verified": True,
        },
    },
}


def _co2_factors(table: dict) -> dict:
    """The table with each mode's low and high filled (a mode without a range has none) and the
    environment's overrides applied; a central value outside its range widens the range."""
    out = {}
    for mode, row in table.items():
        name = f"POOLING_CO2_{mode.upper()}_KG_PER_KM"
        central = dict(row["central"])
        low = dict(row.get("low", central))
        high = dict(row.get("high", central))
        override = env.float(name, default=None)
        if override is not None:
            central = {
                "kg_co2e_per_km": override,
                "source": f"set by the operator ({name})",
                "ref": "",
                "url": "",
                "scope": {"energy": "as declared", "manufacturing": None, "infrastructure": None},
                "year": None,
                "verified": False,
            }
        for bound, value in (("low", low), ("high", high)):
            given = env.float(f"{name}_{bound.upper()}", default=None)
            if given is not None:
                value.update(
                    kg_co2e_per_km=given,
                    source=f"set by the operator ({name}_{bound.upper()})",
                    ref="",
                    url="",
                    verified=False,
                )
        c = central["kg_co2e_per_km"]
        if low["kg_co2e_per_km"] > c:
            low = {**central}
        if high["kg_co2e_per_km"] < c:
            high = {**central}
        out[mode] = {
            "label": row["label"],
            "unit": "kg CO2e / vehicle-km",
            "central": central,
            "low": low,
            "high": high,
        }
    return out


POOLING_CO2_FACTORS = _co2_factors(POOLING_CO2_FACTORS_DEFAULT)
# The central values of the plan's vehicles, as the planning and the APIs have always read them.
POOLING_EMISSION_FACTORS = {
    mode: {
        "kg_co2e_per_km": POOLING_CO2_FACTORS[mode]["central"]["kg_co2e_per_km"],
        "source": POOLING_CO2_FACTORS[mode]["central"]["source"],
    }
    for mode in ("van", "cargo_bike", "foot")
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
