"""How the OSM import scales: a large extract made by tiling a real one, imported in a child process.

    python -m benchmarks.import_scale --pbf ../shared/data/osm/liechtenstein.osm.pbf --copies 100

Writes ``--copies`` shifted copies of the extract's ways and the nodes they use (new ids, moved
side by side on a grid) into one .osm.pbf, then runs ``manage.py import_osm`` on it in a child
process against a separate database and reports the child's time and peak memory. The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tile(source: Path, target: Path, copies: int) -> dict[str, int]:
    import osmium

    ways = []
    needed: set[int] = set()
    for way in osmium.FileProcessor(str(source), osmium.osm.WAY).with_filter(
        osmium.filter.KeyFilter("highway")
    ):
        refs = [n.ref for n in way.nodes]
        ways.append((way.id, refs, {t.k: t.v for t in way.tags}))
        needed.update(refs)
    nodes = []
    for node in osmium.FileProcessor(str(source), osmium.osm.NODE).with_filter(
        osmium.filter.IdFilter(needed)
    ):
        if node.location.valid():
            nodes.append((node.id, node.location.lon, node.location.lat))
    nodes.sort()
    lons = [n[1] for n in nodes]
    lats = [n[2] for n in nodes]
    width = (max(lons) - min(lons)) * 1.05
    height = (max(lats) - min(lats)) * 1.05
    side = math.ceil(math.sqrt(copies))
    id_step = 10 ** (len(str(max(max(needed), max(w[0] for w in ways)))) + 1)
    target.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(target))
    try:
        for k in range(copies):
            dx, dy = (k % side) * width, (k // side) * height
            off = k * id_step
            for nid, lon, lat in nodes:
                writer.add_node(
                    osmium.osm.mutable.Node(id=nid + off, location=(lon + dx, lat - dy), version=1)
                )
        for k in range(copies):
            off = k * id_step
            for wid, refs, tags in ways:
                writer.add_way(
                    osmium.osm.mutable.Way(
                        id=wid + off, nodes=[r + off for r in refs], tags=tags, version=1
                    )
                )
    finally:
        writer.close()
    return {"nodes": len(nodes) * copies, "ways": len(ways) * copies}


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pbf", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument(
        "--keep", type=Path, default=None, help="write the tiled extract here and keep it"
    )
    args = parser.parse_args(argv)

    from benchmarks.walking import _configure_database

    bench_url = _configure_database(None)
    with tempfile.TemporaryDirectory() as tmp:
        big = args.keep or Path(tmp) / "tiled.osm.pbf"
        started = time.perf_counter()
        written = tile(args.pbf, big, args.copies)
        tile_s = time.perf_counter() - started
        size_mb = big.stat().st_size / 2**20
        print(
            f"tiled extract: {size_mb:.1f} MB, {written['ways']:,} ways, {written['nodes']:,} nodes",
            file=sys.stderr,
        )
        env = dict(os.environ, DATABASE_URL=bench_url, LOG_LEVEL="WARNING")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "manage.py", "import_osm", str(big), "--name", "tiled"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        import_s = time.perf_counter() - started
        print(proc.stdout.strip().splitlines()[-1], file=sys.stderr)
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "source": args.pbf.name,
        "copies": args.copies,
        "extract_mb": round(size_mb, 1),
        "ways": written["ways"],
        "way_nodes": written["nodes"],
        "tile_s": round(tile_s, 1),
        "import_s": round(import_s, 1),
        "import_peak_rss_mb": round(child.ru_maxrss / 1024, 1),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
