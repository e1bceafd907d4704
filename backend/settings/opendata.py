"""Open data: the associations' monthly figures (owned by opendata/, docs/opendata.md). Its
monthly job is in celery.py; its rate limit (``opendata``) in security.py."""

from .base import env

# How far back the monthly job computes the months an association has no figures for yet (a new
# association, a job that did not run): the months after the association was created, at most
# this many. ``manage.py opendata_month`` computes any closed month by hand.
OPENDATA_BACKFILL_MONTHS = env.int("OPENDATA_BACKFILL_MONTHS", default=12)
# The day of the month the job runs (TIME_ZONE, at 04:40): a few days after the month closes, so
# that loans handed over and parcels taken at a relay point on its last evening are counted.
OPENDATA_COMPUTE_DAY = env.int("OPENDATA_COMPUTE_DAY", default=3)
# Seconds that browsers and caches may keep the published files (they change once a month).
OPENDATA_MAX_AGE = env.int("OPENDATA_MAX_AGE", default=3600)
