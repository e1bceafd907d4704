"""Two blur-cell centres of the Helsinki test graph with steps between them.

Walking from ``BELOW`` to ``ABOVE`` takes about 260 m of street and steps (three minutes); a
wheelchair goes round, about 870 m (fifteen minutes at its speed). At a wheelchair's speed the
walking route would take under five minutes: a ten-minute search tells the profiles apart by the
steps, not by the speed.
"""

from __future__ import annotations

from geo.graph import get_network
from geo.profiles import get_profile

BELOW = (24.9407806, 60.1704545)
ABOVE = (24.9410596, 60.171802)
MINUTES = 10


def walking_route_takes_steps(start: tuple[float, float], end: tuple[float, float]) -> bool:
    net = get_network()
    walk = get_profile("walk")
    a, b = net.snap(*start, walk), net.snap(*end, walk)
    return bool(net.tags.steps[net.route(a, b, walk, start, end).edges].any())
