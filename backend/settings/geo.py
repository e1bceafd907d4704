"""The geo engine: storage SRID, street graph and travel profiles, geocoding, admin maps."""

from .base import BASE_DIR, env

# One storage SRID for every geometry; meters and seconds everywhere inside.
GEO_SRID = 4326

# Debian 12 ships GDAL 3.6. Voisinage never opens spatial references from untrusted files through
# GDAL (OSM extracts are read by pyosmium; API geometries are GeoJSON parsed by GEOS).
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# --- Street graph and travel profiles -----------------------------------------------------------
# Speeds in meters per second. Wheelchair routes never use steps and pay a factor on unpaved ways.
GEO_SPEEDS_KMH = {
    "walk": env.float("GEO_SPEED_WALK_KMH", default=5.0),
    "slow": env.float("GEO_SPEED_SLOW_KMH", default=3.0),
    "wheelchair": env.float("GEO_SPEED_WHEELCHAIR_KMH", default=3.5),
    "bike": env.float("GEO_SPEED_BIKE_KMH", default=15.0),
    # A delivery van's mean speed in a dense town centre, stops at lights included.
    "car": env.float("GEO_SPEED_CAR_KMH", default=15.0),
}
GEO_WHEELCHAIR_UNPAVED_FACTOR = env.float("GEO_WHEELCHAIR_UNPAVED_FACTOR", default=4.0)
# A point farther than this from any usable way of the profile is off the graph.
GEO_SNAP_MAX_M = env.float("GEO_SNAP_MAX_M", default=300.0)
# Connected pieces of the graph smaller than this many nodes are islands: not snapped to.
GEO_MIN_COMPONENT_NODES = env.int("GEO_MIN_COMPONENT_NODES", default=30)
# How often a process checks whether a new street graph was imported (seconds).
GEO_GRAPH_CHECK_SECONDS = env.float("GEO_GRAPH_CHECK_SECONDS", default=2.0)
# Where the street graphs' array files are kept, shared by every process of the machine (built by
# the import, or by the first process that needs a graph).
GEO_GRAPH_CACHE_DIR = env.str("GEO_GRAPH_CACHE_DIR", default=str(BASE_DIR / "var" / "graphs"))
# The regions this process serves, comma separated (empty: every region with an active graph).
GEO_REGIONS = [r.strip() for r in env.str("GEO_REGIONS", default="").split(",") if r.strip()]
GEO_MATRIX_MAX_POINTS = env.int("GEO_MATRIX_MAX_POINTS", default=50)
GEO_ISOCHRONE_MAX_MINUTES = env.int("GEO_ISOCHRONE_MAX_MINUTES", default=60)
GEO_ROUTE_MAX_KM = env.float("GEO_ROUTE_MAX_KM", default=50.0)
OSM_PBF = env.str("OSM_PBF", default="")

# Vector tiles of the street graph (GET /api/v1/geo/tiles/streets/{z}/{x}/{y}.mvt): served from
# this zoom to that one only (the panel's maps overzoom the highest); browsers keep them this long
# and then ask again with the ETag (a new graph changes it).
GEO_TILE_MIN_ZOOM = env.int("GEO_TILE_MIN_ZOOM", default=12)
GEO_TILE_MAX_ZOOM = env.int("GEO_TILE_MAX_ZOOM", default=16)
GEO_TILE_MAX_AGE = env.int("GEO_TILE_MAX_AGE", default=3600)

# --- Geocoding (geopy): BAN for France, Nominatim elsewhere ---------------------------------------
GEOCODER_BAN_DOMAIN = env.str("GEOCODER_BAN_DOMAIN", default="api-adresse.data.gouv.fr")
GEOCODER_BAN_SCHEME = env.str("GEOCODER_BAN_SCHEME", default="https")
GEOCODER_NOMINATIM_DOMAIN = env.str(
    "GEOCODER_NOMINATIM_DOMAIN", default="nominatim.openstreetmap.org"
)
GEOCODER_NOMINATIM_SCHEME = env.str("GEOCODER_NOMINATIM_SCHEME", default="https")
GEOCODER_USER_AGENT = env.str(
    "GEOCODER_USER_AGENT", default="voisinage/0.1 (contact: admin@localhost)"
)
GEOCODER_TIMEOUT = env.float("GEOCODER_TIMEOUT", default=5.0)

# --- Admin maps ----------------------------------------------------------------------------------
# The maps' scripts and styles are served by the project, and so is their background: the street
# graph's vector tiles. MAP_TILE_URL (an XYZ URL of raster tiles, empty by default) adds a tile
# server's images below them (the street layer is then off until switched on); the admin's
# Content-Security-Policy allows its host (security.py).
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="© OpenStreetMap contributors")
MAP_DEFAULT_LON = env.float("MAP_DEFAULT_LON", default=24.94)
MAP_DEFAULT_LAT = env.float("MAP_DEFAULT_LAT", default=60.17)
MAP_DEFAULT_ZOOM = env.int("MAP_DEFAULT_ZOOM", default=14)
