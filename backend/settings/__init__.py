"""Settings, all from environment variables (see .env.example), one module per concern.

Local development works with no configuration. Production (``VOISINAGE_ENV=production``) fails
closed: no default secret, DEBUG off, and the process refuses to start without ``SECRET_KEY`` and
``ALLOWED_HOSTS`` (security.py).
"""

from .accounts import *
from .api import *
from .base import *
from .celery import *
from .database import *
from .geo import *
from .logging import *
from .opendata import *
from .pooling import *
from .realtime import *
from .security import *
from .sharing import *
