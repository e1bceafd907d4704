import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

from backend.handler import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from backend import server  # noqa: E402
from notifications.routing import websocket_application  # noqa: E402

# Daphne's own answers in the API's error format, and no form parsing by Twisted (server.py).
server.install()

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})

# A Daphne process holds thousands of long-lived sockets, and a full garbage collection pauses
# every one of them (hundreds of ms at 5,000 sockets): leave the start-up objects out of those
# passes and make the passes rarer.
gc.freeze()
gc.set_threshold(50_000, 20, 20)
