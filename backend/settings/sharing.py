"""Sharing: neighbour lending (owned by sharing/). Its periodic jobs are in celery.py."""

from .base import PRODUCTION, env

SHARING_BLUR_CELL_M = env.float("SHARING_BLUR_CELL_M", default=150.0)
SHARING_MINUTES_FLOOR = env.int("SHARING_MINUTES_FLOOR", default=3)
SHARING_LOAN_BUFFER_HOURS = env.float("SHARING_LOAN_BUFFER_HOURS", default=2.0)
SHARING_REQUEST_TTL_HOURS = env.float("SHARING_REQUEST_TTL_HOURS", default=48.0)
SHARING_MAX_RENEWALS = env.int("SHARING_MAX_RENEWALS", default=2)
SHARING_MAX_OPEN_WANTED = env.int("SHARING_MAX_OPEN_WANTED", default=3)
SHARING_WANTED_FIRST_ROUND = env.int("SHARING_WANTED_FIRST_ROUND", default=3)
SHARING_WANTED_WIDEN_MINUTES = env.int("SHARING_WANTED_WIDEN_MINUTES", default=30)
SHARING_WANTED_MAX_ROUNDS = env.int("SHARING_WANTED_MAX_ROUNDS", default=4)
SHARING_REMINDERS_PER_DAY = env.int("SHARING_REMINDERS_PER_DAY", default=5)
SHARING_NEARBY_MAX_MINUTES = env.int("SHARING_NEARBY_MAX_MINUTES", default=30)
SHARING_PHOTO_MAX_BYTES = env.int("SHARING_PHOTO_MAX_BYTES", default=8 * 1024 * 1024)
SHARING_PHOTO_MAX_PIXELS = env.int("SHARING_PHOTO_MAX_PIXELS", default=40_000_000)
SHARING_PHOTO_MAX_SIDE = env.int("SHARING_PHOTO_MAX_SIDE", default=1600)
SHARING_THUMB_SIDE = env.int("SHARING_THUMB_SIDE", default=320)
SHARING_MAX_PHOTOS = env.int("SHARING_MAX_PHOTOS", default=6)

# Items' photos are served under MEDIA_URL + "items/" (only that: proofs of delivery and return
# photos are private files). By the app itself outside production; in production by the web
# server in front (deploy/nginx.conf), or set SERVE_MEDIA=true to let Daphne serve them.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=not PRODUCTION)
