# One image for web, worker and beat (docker-compose.yml picks the command).
# Production settings by default: a container refuses to start without DJANGO_SECRET_KEY.
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
RUN useradd --create-home --uid 1000 taskhub && mkdir -p /app/var && chown -R taskhub /app/var
USER taskhub

EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
