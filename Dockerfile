# Production image: Daphne serving HTTP and WebSockets on :8000, static files by whitenoise,
# migrations applied at start. Configure with environment variables (playground/settings.py):
#   DJANGO_SECRET_KEY (required), DJANGO_ALLOWED_HOSTS, DJANGO_CSRF_TRUSTED_ORIGINS; behind a TLS proxy
#   DJANGO_SECURE_PROXY=1, DJANGO_SSL_REDIRECT=1, DJANGO_HSTS_SECONDS; PLAYGROUND_TRUSTED_PROXY=1 only when a proxy
#   you control sets X-Forwarded-For (README: Deploy); DATABASE_URL (PostgreSQL), REDIS_URL (channels-redis).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    WHITENOISE_USE_FINDERS=0 \
    DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1

WORKDIR /app

# Dependencies first (cached while only the code changes).
COPY pyproject.toml README.md ./
COPY simulator ./simulator
COPY playground ./playground
RUN pip install .

COPY manage.py ./
COPY templates ./templates
COPY static ./static
# Compressed copies of the static files for whitenoise. The key only lets settings load during the build.
RUN DJANGO_SECRET_KEY=build-only-not-a-secret python manage.py collectstatic --noinput -v 0

RUN useradd --create-home --uid 10001 app && chown -R app /app
USER app

EXPOSE 8000
# A TCP check: an HTTP one would be refused by the host check when DJANGO_ALLOWED_HOSTS names only the real host.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
    CMD python -c "import socket; socket.create_connection(('127.0.0.1', 8000), 2).close()"

# migrate refuses to run without DJANGO_SECRET_KEY (system check playground.E001): fail fast, not at the
# first request. `exec` so Daphne gets the container's signals.
CMD ["sh", "-c", "python manage.py migrate --noinput && exec python -m playground.serve"]
