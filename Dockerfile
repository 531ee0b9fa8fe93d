# One image for web, worker and beat (docker-compose.yml picks the command).
# Production settings by default: a container refuses to start without DJANGO_SECRET_KEY.
# Runtime requirements only: tests and tooling (requirements-dev.txt) stay out of the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    DJANGO_ENV=production

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The media folder exists and belongs to the app user before it becomes a volume, so a new
# named volume mounted there starts with that owner (Docker copies it from the image).
RUN useradd --create-home --uid 1000 taskhub \
    && mkdir -p /app/var/media \
    && chown -R taskhub /app/var
VOLUME ["/app/var/media"]
USER taskhub

EXPOSE 8000
# The web process's health (database, broker, cache); worker and beat override it in compose.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health/', timeout=4)"]
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
