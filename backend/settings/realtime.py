"""Notifications: the event log, websockets (Channels) and push (owned by notifications/).

Everything notifications/ reads from settings, in one module. See docs/events.md. Its periodic
jobs are in celery.py.
"""

from redis.exceptions import ConnectionError as RedisConnectionError

from .base import PRODUCTION, REDIS_URL, TIME_ZONE, env

# How long each person's event log is kept; a client that reconnects with an older id gets a
# "system.resync" event instead of the events it missed.
NOTIFICATIONS_EVENT_RETENTION_DAYS = env.int("NOTIFICATIONS_EVENT_RETENTION_DAYS", default=14)
# Couriers' last positions (one row per courier, sent on their socket) are forgotten after this:
# they serve the ETAs of a round under way, nothing later.
NOTIFICATIONS_POSITION_RETENTION_HOURS = env.int(
    "NOTIFICATIONS_POSITION_RETENTION_HOURS", default=24
)
# Mail digests of important events to people with no push device: at most one per person in
# this many minutes (the sweep, notifications.email_digest_sweep, runs every few minutes).
NOTIFICATIONS_EMAIL_DIGEST_MINUTES = env.int("NOTIFICATIONS_EMAIL_DIGEST_MINUTES", default=60)
# At most this many missed events are replayed on reconnect; further behind means a resync.
REALTIME_REPLAY_MAX = env.int("REALTIME_REPLAY_MAX", default=1000)
# Websocket tickets: single use, short-lived (milliseconds precision in Redis).
REALTIME_TICKET_TTL_SECONDS = env.float("REALTIME_TICKET_TTL_SECONDS", default=30.0)
# Application heartbeat sent on every socket; presence in Redis lives for a few heartbeats.
REALTIME_HEARTBEAT_SECONDS = env.float("REALTIME_HEARTBEAT_SECONDS", default=25.0)
REALTIME_PRESENCE_TTL_SECONDS = env.float(
    "REALTIME_PRESENCE_TTL_SECONDS", default=REALTIME_HEARTBEAT_SECONDS * 2.5
)
# Browsers always send Origin: only these may open the socket. Native apps send none: allowed.
REALTIME_ALLOWED_ORIGINS = env.list(
    "REALTIME_ALLOWED_ORIGINS",
    default=[]
    if PRODUCTION
    else ["http://localhost:8000", "http://127.0.0.1:8000", "http://localhost:3000"],
)
# Inbound courier positions: a token bucket per connection.
REALTIME_POSITION_RATE_PER_SECOND = env.float("REALTIME_POSITION_RATE_PER_SECOND", default=1.0)
REALTIME_POSITION_BURST = env.int("REALTIME_POSITION_BURST", default=5)
# Who may send positions on the socket (a function of the user id): couriers, from pooling.
REALTIME_POSITION_POLICY = "pooling.services.couriers.may_send_position"
# Invalid inbound messages tolerated (a bucket refilled at one per second) before closing.
REALTIME_INBOUND_ERROR_BURST = env.int("REALTIME_INBOUND_ERROR_BURST", default=20)
# Bound on the time a request waits for the channel layer after its commit.
REALTIME_FANOUT_TIMEOUT_SECONDS = env.float("REALTIME_FANOUT_TIMEOUT_SECONDS", default=2.0)

# The Redis channel layer in its pub/sub flavour (channels_redis.pubsub): Redis pushes messages
# to each Daphne process over one connection, where channels_redis.core pops them one by one at
# four round trips each, a ceiling of a few hundred live events a second per process (see
# benchmarks/fanout.py). Pub/sub keeps nothing for a process that is not listening: the event
# log is the truth, and sockets catch up from it (holes, the hub's sweep, reconnections).
# notifications.layer adds a retried subscription of each new socket's channel after a Redis
# restart. CHANNEL_LAYER_BACKEND=channels_redis.core.RedisChannelLayer switches back; the
# capacities below are for that one: its Redis list per process carries every message for the
# process's sockets, so it is sized per process; the per-socket buffer stays small (a socket that
# stops reading loses its oldest live messages and catches up from the log).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": env.str(
            "CHANNEL_LAYER_BACKEND", default="notifications.layer.PubSubChannelLayer"
        ),
        "CONFIG": {
            # A pooled connection that Redis closed (a restart) is reopened once before failing.
            # Reads wait longer than the layer's 5 s blocking pops (redis-py's default read
            # timeout is also 5 s: the two race and the loser kills its socket's consumer).
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_connect_timeout": 2,
                    "socket_timeout": 15,
                    "retry_on_error": [RedisConnectionError],
                    "max_connections": env.int("CHANNEL_LAYER_MAX_CONNECTIONS", default=500),
                }
            ],
            "prefix": env.str("CHANNEL_LAYER_PREFIX", default="asgi"),
            "capacity": env.int("CHANNEL_LAYER_SOCKET_CAPACITY", default=200),
            "channel_capacity": {
                "specific.*": env.int("CHANNEL_LAYER_PROCESS_CAPACITY", default=20000)
            },
            "expiry": 60,
            "group_expiry": 86400,
        },
    }
}

# Push through Firebase Cloud Messaging. On by default; production refuses to start when it is
# on without a service-account file (notifications/apps.py). In development without credentials
# a push is a logged no-op.
PUSH_ENABLED = env.bool("PUSH_ENABLED", default=True)
FCM_CREDENTIALS_FILE = env.str("FCM_CREDENTIALS_FILE", default="")
FCM_PROJECT_ID = env.str("FCM_PROJECT_ID", default="")
PUSH_MAX_ATTEMPTS = env.int("PUSH_MAX_ATTEMPTS", default=6)
PUSH_BACKOFF_SECONDS = env.float("PUSH_BACKOFF_SECONDS", default=15.0)
PUSH_BACKOFF_MAX_SECONDS = env.float("PUSH_BACKOFF_MAX_SECONDS", default=900.0)
# Quiet hours are read in this time zone (residents have no time zone of their own yet).
PUSH_QUIET_HOURS_TIME_ZONE = env.str("PUSH_QUIET_HOURS_TIME_ZONE", default=TIME_ZONE)
# The scheme of the deep links that pushes and the inbox carry (voisinage://loans/381), which
# the apps register and route.
APP_LINK_SCHEME = env.str("APP_LINK_SCHEME", default="voisinage")
