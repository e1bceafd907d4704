"""The street graph's memory in each process that serves it (Daphne, Celery workers).

    python -m benchmarks.graph_memory --pbf var/osm/helsinki.osm.pbf --pbf ../shared/data/osm/liechtenstein.osm.pbf

For each extract: imports it into the benchmark's own database (``voisinage_bench_graphmem`` on the
configured server), then starts a fresh Python process that sets Django up as Daphne does
(``backend.asgi``), reads its resident memory, loads the active graph (``geo.graph.get_network``)
and answers one walking route and one nearby search on it, and reads its memory again. The
difference is what every web or worker process pays for that region's graph. The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import bench_database

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "voisinage_bench_graphmem"

CHILD = """
import json, os, time
from pathlib import Path

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

import backend.asgi  # noqa: F401  (Django set up as in Daphne)
before = rss()
t0 = time.perf_counter()
from geo.graph import get_network
from geo.profiles import get_profile
net = get_network()
load_s = time.perf_counter() - t0
lon0, lat0, lon1, lat1 = (float(v) for v in net.bounds)
cx, cy = (lon0 + lon1) / 2, (lat0 + lat1) / 2
from geo.selectors import travel_matrix
travel_matrix(points=[(cx, cy), (cx + 0.003, cy + 0.002)], profile="walk")
after = rss()
print(json.dumps({"rss_mb_django": round(before, 1), "rss_mb_with_graph": round(after, 1),
                  "graph_mb": round(after - before, 1), "load_s": round(load_s, 2),
                  "nodes": int(net.n_nodes)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pbf", type=Path, action="append", required=True)
    args = parser.parse_args()
    url = bench_database(DB_NAME)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "backend.settings",
           "LOG_LEVEL": "WARNING", "PUSH_ENABLED": "false"}  # fmt: skip
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    results = {}
    for pbf in args.pbf:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "manage.py", "import_osm", str(pbf.resolve()), "--name", pbf.name],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        import_s = time.perf_counter() - started
        done = subprocess.run(
            [sys.executable, "-c", CHILD], cwd=ROOT, env=env, check=True, capture_output=True,
            text=True,
        )  # fmt: skip
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        figures["import_s"] = round(import_s, 1)
        results[pbf.name] = figures
        print(f"[graph_memory] {pbf.name}: {figures}", file=sys.stderr, flush=True)
    print(json.dumps({"benchmark": "graph_memory", "extracts": results}))


if __name__ == "__main__":
    main()
