# Production-like image for web (Daphne), worker and beat (Celery).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin libgeos-c1v5 gettext postgresql-client \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY accounts ./accounts
COPY neighbourhoods ./neighbourhoods
COPY geo ./geo
COPY sharing ./sharing
COPY pooling ./pooling
COPY notifications ./notifications
COPY panel ./panel
COPY locale ./locale
COPY manage.py ./
RUN pip install . \
 && python manage.py compilemessages -v 0 \
 && VOISINAGE_ENV=development python manage.py collectstatic --noinput -v 0

# The directories the volumes of docker-compose.yml mount, owned by the app's user: an empty named
# volume takes the ownership of the directory it is mounted on.
RUN useradd --system --uid 1000 voisinage \
 && mkdir -p /app/var/media /app/var/private /app/var/static-public \
 && chown -R voisinage /app/var
USER voisinage
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "backend.asgi:application"]
