"""The street graph's memory and load time in the processes that serve it (Daphne, Celery workers).

    python -m benchmarks.graph_memory --pbf ../shared/data/osm/liechtenstein.osm.pbf
    python -m benchmarks.graph_memory --pbf ../shared/data/osm/liechtenstein.osm.pbf --copies 100

For each extract (with ``--copies N``: the extract tiled N times side by side, as
``benchmarks.import_scale`` builds its large graph): imports it into the benchmark's own database
(``voisinage_bench_graphmem`` on the configured server) as a region of its own, which writes the
graph's array files, then measures:

- ``bytes_per_node``: the bytes of all the graph's arrays (every profile's CSR, rules, snapping
  index, coordinates) over its nodes;
- ``load_s``: the time a fresh process (Django set up as Daphne does, ``backend.asgi``) takes to
  map the graph (``geo.graph.get_network``), and its resident memory before and after mapping it,
  answering one matrix and reading every array once;
- ``pss_mb_4_processes``: four such processes at once, each having read the whole graph; the sum
  of their proportional set sizes (``/proc/<pid>/smaps_rollup``) minus that of four processes
  with the same code imported but no graph: what the graph costs the machine for four processes (one copy is the goal,
  ``file_mb``), against ``four_copies_mb`` had each kept its own.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import bench_database

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "voisinage_bench_graphmem"
PROCESSES = 4

CHILD = """
import json, os, sys, time
from pathlib import Path

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

region = sys.argv[1]
mode = sys.argv[2]  # "graph" or "bare"
import backend.asgi  # noqa: F401  (Django set up as in Daphne)
import numpy as np
import geo.graph, geo.selectors, scipy.sparse.csgraph  # noqa: F401  (the code, in both modes)
before = rss()
out = {"rss_mb_django": round(before, 1)}
if mode == "graph":
    t0 = time.perf_counter()
    from geo.graph import get_network
    net = get_network(region)
    out["load_s"] = round(time.perf_counter() - t0, 3)
    lon0, lat0, lon1, lat1 = (float(v) for v in net.bounds)
    cx, cy = (lon0 + lon1) / 2, (lat0 + lat1) / 2
    from geo.profiles import get_profile
    walk = get_profile("walk")
    snaps = net.snap_many(np.array([cx, cx + 0.003]), np.array([cy, cy + 0.002]), walk)
    t1 = time.perf_counter()
    if (snaps.edge >= 0).any():
        net.matrix(snaps, walk)
    out["matrix_s"] = round(time.perf_counter() - t1, 3)
    # Every page of every array read once: the worst case of a long-running process.
    for a in net.arrays.values():
        np.asarray(a).sum()
    out["rss_mb_with_graph"] = round(rss(), 1)
    out["graph_rss_mb"] = round(out["rss_mb_with_graph"] - before, 1)
    out["nodes"] = int(net.n_nodes)
    out["edges"] = int(net.edge_count)
    out["graph_bytes"] = int(net.nbytes())
print(json.dumps(out), flush=True)
sys.stdin.readline()  # held until the parent has read its memory
"""


def pss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no Pss for {pid}")


def run_children(env: dict[str, str], region: str, mode: str, count: int) -> tuple[list, float]:
    """Starts ``count`` children at once, waits until each is loaded, sums their PSS."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, region, mode],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    reports = []
    try:
        for child in children:
            assert child.stdout is not None
            reports.append(json.loads(child.stdout.readline()))
        total = sum(pss_mb(child.pid) for child in children)
    finally:
        for child in children:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(60)
    return reports, total


def measure(env: dict[str, str], pbf: Path, region: str) -> dict[str, object]:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "import_osm", str(pbf.resolve()), "--name", region],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    import_s = time.perf_counter() - started
    # One process alone (a fresh one: its load time is the mapping of files already written).
    (alone,), _ = run_children(env, region, "graph", 1)
    _bare, bare_pss = run_children(env, region, "bare", PROCESSES)
    loaded, graph_pss = run_children(env, region, "graph", PROCESSES)
    file_mb = alone["graph_bytes"] / 2**20
    figures = {
        **alone,
        "import_s": round(import_s, 1),
        "bytes_per_node": round(alone["graph_bytes"] / alone["nodes"], 1),
        "file_mb": round(file_mb, 1),
        "load_s_max_of_4": max(r["load_s"] for r in loaded),
        "pss_mb_4_processes": round(graph_pss - bare_pss, 1),
        "four_copies_mb": round(PROCESSES * file_mb, 1),
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pbf", type=Path, action="append", required=True)
    parser.add_argument(
        "--copies", type=int, default=1, help="tile each extract this many times (import_scale)"
    )
    args = parser.parse_args()
    url = bench_database(DB_NAME)
    cache = Path(tempfile.mkdtemp(prefix="graphmem-"))
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "backend.settings",
           "LOG_LEVEL": "WARNING", "PUSH_ENABLED": "false",
           "GEO_GRAPH_CACHE_DIR": str(cache)}  # fmt: skip
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pbf in args.pbf:
            stem = pbf.name.split(".")[0]
            source, label = pbf, pbf.name
            if args.copies > 1:
                from benchmarks.import_scale import tile

                source = Path(tmp) / f"{stem}-x{args.copies}.osm.pbf"
                tile(pbf, source, args.copies)
                label = f"{pbf.name} x{args.copies}"
                stem = f"{stem}-x{args.copies}"
            figures = measure(env, source, stem)
            results[label] = figures
            print(f"[graph_memory] {label}: {figures}", file=sys.stderr, flush=True)
    print(json.dumps({"benchmark": "graph_memory", "extracts": results}))


if __name__ == "__main__":
    main()
