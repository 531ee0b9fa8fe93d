import os
import re
import runpy
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

BASE_DIR = Path(__file__).resolve().parents[2]
PUBLIC = {
    "/api/v1/auth/register/",
    "/api/v1/auth/login/",
    "/api/v1/auth/refresh/",
    "/api/v1/auth/password/reset/",
    "/api/v1/auth/password/reset/confirm/",
    "/api/v1/auth/verify-email/",
    "/api/v1/health/",
    "/api/v1/schema/",
    "/api/v1/docs/",
    "/api/v1/redoc/",
}


def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def concrete(path, params):
    """Fill path parameters with values of the right shape."""
    def value(match):
        spec = params.get(match.group(1), {})
        return str(uuid.uuid4()) if spec.get("format") == "uuid" else "1"

    return re.sub(r"{(\w+)}", value, path)


def every_operation():
    for path, item in schema()["paths"].items():
        for method, operation in item.items():
            params = {p["name"]: p.get("schema", {}) for p in operation.get("parameters", []) if p["in"] == "path"}
            yield method, concrete(path, params)


@pytest.mark.django_db
def test_every_endpoint_but_the_public_ones_answers_401_without_credentials():
    client = APIClient()
    checked = 0
    for method, path in every_operation():
        if path in PUBLIC:
            continue
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == 401, (method, path, response.status_code)
        assert "detail" in response.json()
        checked += 1
    assert checked > 15


@pytest.mark.django_db
def test_public_endpoints_need_no_credentials():
    client = APIClient()

    for path in ["/api/v1/health/", "/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/"]:
        assert client.get(path).status_code == 200, path


def test_schema_describes_the_four_auth_schemes_and_error_responses():
    generated = schema()

    schemes = generated["components"]["securitySchemes"]
    kinds = {(s["type"], s.get("scheme"), s.get("name")) for s in schemes.values()}
    assert ("http", "bearer", None) in kinds
    assert ("apiKey", None, "Authorization") in kinds
    assert any(s["type"] == "apiKey" and s.get("in") == "cookie" for s in schemes.values())
    assert len(schemes) == 4
    me = generated["paths"]["/api/v1/auth/me/"]["get"]["responses"]
    assert {"200", "401", "403"} <= set(me)


@pytest.mark.django_db
def test_docs_pages_use_bundled_assets_not_a_cdn(api_client):
    docs = api_client.get("/api/v1/docs/").content.decode()
    redoc = api_client.get("/api/v1/redoc/").content.decode()

    assert "cdn.jsdelivr" not in docs and "drf_spectacular_sidecar" in docs
    assert "cdn.jsdelivr" not in redoc and "drf_spectacular_sidecar" in redoc


@pytest.mark.django_db
def test_health_ok(api_client):
    response = api_client.get(reverse("health"))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["components"] == {"database": True, "broker": True, "cache": True}
    assert set(body["info"]) == {"version", "environment"}


@pytest.mark.django_db
def test_health_degraded_names_the_broker_when_it_is_unreachable(api_client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    settings.CELERY_BROKER_CONNECTION_TIMEOUT = 1

    response = api_client.get(reverse("health"))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["broker"] is False
    assert body["components"]["database"] is True
    assert body["failing"] == ["broker"]


@pytest.mark.django_db
def test_health_degraded_names_the_cache(api_client, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }

    response = api_client.get(reverse("health"))

    assert response.status_code == 503
    assert response.json()["failing"] == ["cache"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v2/", "/api/v1/users/99999/"])
def test_unknown_api_urls_answer_json_404(client_for, path):
    from accounts.tests.factories import UserFactory

    response = client_for(UserFactory()).get(path)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."} or "detail" in response.json()


@pytest.mark.django_db
def test_malformed_json_is_a_json_400(api_client):
    response = api_client.generic(
        "POST", "/api/v1/auth/login/", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert "detail" in response.json()


def test_check_deploy_is_clean_in_production_settings():
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "x" * 20 + "-production-secret-" + uuid.uuid4().hex,
        "DJANGO_ALLOWED_HOSTS": "taskhub.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env["DJANGO_ENV"] = "production"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_docker_compose_names_the_six_services_on_one_image():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    services = compose["services"]

    assert {"web", "worker", "beat", "db", "redis", "flower"} <= set(services)
    assert "gunicorn" in services["web"]["command"]
    assert "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"] and "config.scheduler:BeatScheduler" in services["beat"]["command"]
    for name in ("web", "worker", "beat", "flower"):
        assert services[name]["build"] == "."
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://")
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", dockerfile, re.M)
    assert "pip install -r requirements.txt" in dockerfile


def test_every_web_process_starts_from_the_shared_gunicorn_config():
    from task_api.serializers import MAX_WAIT_SECONDS

    config = runpy.run_path(str(BASE_DIR / "config" / "gunicorn.conf.py"))
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    procfile = dict(line.split(":", 1) for line in (BASE_DIR / "Procfile.dev").read_text().splitlines() if line)

    # Long-polls hold a thread each, so the workers must be threaded and outlast the longest wait.
    assert (config["worker_class"], config["threads"] > 1) == ("gthread", True)
    assert config["timeout"] > MAX_WAIT_SECONDS
    assert "-c config/gunicorn.conf.py" in compose["services"]["web"]["command"]
    assert "-c config/gunicorn.conf.py" in procfile["web"]
    assert '"-c", "config/gunicorn.conf.py"' in (BASE_DIR / "Dockerfile").read_text()


COMPOSE_VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def compose_environment(service, environ):
    """A compose service's environment as `docker compose` interpolates it from `environ`:
    ${VAR}, ${VAR:-default}, and ${VAR:?message}, which refuses to start when VAR is unset or empty."""
    def value(match):
        name, kind, word = match.groups()
        if environ.get(name):
            return environ[name]
        if kind == "?":
            raise LookupError(f"{name}: {word}")
        return word if kind == "-" else ""

    environment = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())["services"][service]["environment"]
    return {key: COMPOSE_VARIABLE.sub(value, str(raw)) for key, raw in environment.items()}


APP_SERVICES = ("web", "events", "worker", "worker-emails", "worker-webhooks", "beat", "flower")
OPERATOR_ENV = {"DJANGO_SECRET_KEY": "operator-" + "k" * 50, "FLOWER_BASIC_AUTH": "admin:s3cret-pass"}


def test_docker_compose_is_safe_as_shipped():
    text = (BASE_DIR / "docker-compose.yml").read_text()
    services = yaml.safe_load(text)["services"]

    for name in APP_SERVICES:
        env = compose_environment(name, OPERATOR_ENV)
        assert env["DJANGO_ENV"] == "production", name
        assert env["DJANGO_SECRET_KEY"] == OPERATOR_ENV["DJANGO_SECRET_KEY"], name
        assert "DJANGO_DEBUG" not in env, name
        # No secret to fall back on: without one, compose refuses to start.
        with pytest.raises(LookupError, match="DJANGO_SECRET_KEY"):
            compose_environment(name, {"FLOWER_BASIC_AUTH": "a:b"})
    assert set(compose_environment("web", OPERATOR_ENV)["DJANGO_ALLOWED_HOSTS"].split(",")) == {
        "localhost", "127.0.0.1", "web"
    }
    # Flower: basic auth required, published on the host's loopback only.
    with pytest.raises(LookupError, match="FLOWER_BASIC_AUTH"):
        compose_environment("flower", {"DJANGO_SECRET_KEY": "x" * 50})
    assert compose_environment("flower", OPERATOR_ENV)["FLOWER_BASIC_AUTH"] == "admin:s3cret-pass"
    assert services["flower"]["ports"] and all(p.startswith("127.0.0.1:") for p in services["flower"]["ports"])
    assert "FLOWER_BASIC_AUTH" not in compose_environment("web", OPERATOR_ENV)
    # The health check probes the path production settings exempt from the https redirect.
    assert "http://127.0.0.1:8000/api/v1/health/" in services["web"]["healthcheck"]["test"][-1]
    assert re.search(r"^ENV .*DJANGO_ENV=production", (BASE_DIR / "Dockerfile").read_text(), re.M | re.S)


def test_the_compose_environment_passes_the_deploy_checks():
    env = {**os.environ, **compose_environment("web", OPERATOR_ENV)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_api_root_lists_every_top_level_resource_with_a_working_url(people, client_for, api_client):
    client = client_for(people["ceo"])

    response = client.get("/api/v1/")

    assert response.status_code == 200
    resources = response.json()
    assert resources["tasks"] == "http://testserver/api/v1/tasks/"
    assert {"users", "departments", "tasks", "comments", "attachments", "notifications", "task-api/executions"} <= set(
        resources
    )
    for url in resources.values():
        assert client.get(url.removeprefix("http://testserver")).status_code not in (404, 500), url
    assert api_client.get("/api/v1/").status_code == 401


DEV_ONLY = {"pytest", "pytest-django", "pytest-timeout", "factory-boy", "pyyaml", "playwright", "schemathesis",
            "hypothesis", "ruff", "import-linter", "grimp", "honcho"}


def requirement_names(path):
    names = set()
    for line in (BASE_DIR / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[=<>~! ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_the_image_installs_runtime_requirements_only_and_make_installs_the_dev_ones():
    runtime = requirement_names("requirements.txt")
    dev = requirement_names("requirements-dev.txt")
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    makefile = (BASE_DIR / "Makefile").read_text()

    assert not runtime & DEV_ONLY, runtime & DEV_ONLY
    assert {"django", "celery", "gunicorn", "psycopg", "flower"} <= runtime
    assert DEV_ONLY - {"honcho"} <= dev
    assert "-r requirements.txt" in (BASE_DIR / "requirements-dev.txt").read_text()
    assert "COPY requirements.txt ." in dockerfile and "pip install -r requirements.txt" in dockerfile
    assert not re.search(r"^(COPY|RUN).*requirements-dev", dockerfile, re.M)
    assert "pip install --quiet -r requirements-dev.txt" in makefile
    assert re.search(r"^\$\(BIN\)/\.installed: requirements\.txt requirements-dev\.txt$", makefile, re.M)


def test_the_image_has_a_health_check_and_an_app_owned_media_volume():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    lines = [line.strip() for line in dockerfile.splitlines()]

    health = dockerfile[dockerfile.index("HEALTHCHECK"):]
    assert "http://127.0.0.1:8000/api/v1/health/" in health.split("CMD [", 1)[1].split("\n", 1)[0]
    assert "curl" not in health.split("\n", 2)[1]
    # Created and chowned to the app user before it is declared a volume, which a new named volume copies.
    chown = next(i for i, line in enumerate(lines) if "chown -R taskhub /app/var" in line)
    media = next(i for i, line in enumerate(lines) if "mkdir -p /app/var/media" in line)
    volume = lines.index('VOLUME ["/app/var/media"]')
    user = lines.index("USER taskhub")
    assert media < chown < volume < user


def test_compose_checks_the_health_of_web_worker_and_beat_after_a_one_shot_migrate():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    services = compose["services"]

    migrate = services["migrate"]
    assert migrate["command"] == "python manage.py migrate --noinput" and migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert "migrate" not in services[name]["command"], name
        assert services[name]["healthcheck"]["test"], name
    assert "/api/v1/health/" in services["web"]["healthcheck"]["test"][-1]
    ping = "celery -A config inspect ping -d celery@$$HOSTNAME"
    assert services["worker"]["healthcheck"]["test"][-1].startswith(ping)
    assert "-d emails@$$HOSTNAME" in services["worker-emails"]["healthcheck"]["test"][-1]
    assert "-n emails@%h" in services["worker-emails"]["command"]
    assert "-d webhooks@$$HOSTNAME" in services["worker-webhooks"]["healthcheck"]["test"][-1]
    assert "-Q webhooks" in services["worker-webhooks"]["command"]
    heartbeat = compose_environment("beat", OPERATOR_ENV)["BEAT_HEARTBEAT_FILE"]
    assert f"getmtime('{heartbeat}')" in services["beat"]["healthcheck"]["test"][-1]


def test_compose_keeps_redis_data_and_media_in_named_volumes_and_sets_site_url():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    services = compose["services"]

    assert "redis-data:/data" in services["redis"]["volumes"]
    assert "--appendonly" in services["redis"]["command"]
    for name in APP_SERVICES:
        assert "media:/app/var/media" in services[name]["volumes"], name
        assert compose_environment(name, OPERATOR_ENV)["MEDIA_ROOT"] == "/app/var/media", name
        assert compose_environment(name, OPERATOR_ENV)["SITE_URL"] == "http://localhost:8000", name
        assert compose_environment(name, {**OPERATOR_ENV, "SITE_URL": "https://tasks.example.com"})["SITE_URL"] == (
            "https://tasks.example.com"
        )
    assert {"pgdata", "media", "redis-data"} <= set(compose["volumes"])


def test_the_beat_scheduler_touches_its_heartbeat_file_at_every_tick(tmp_path, settings, monkeypatch):
    from config.scheduler import BeatScheduler
    from task_api.scheduler import DatabaseScheduler

    heartbeat = tmp_path / "beat-heartbeat"
    settings.BEAT_HEARTBEAT_FILE = str(heartbeat)
    monkeypatch.setattr(DatabaseScheduler, "tick", lambda self, *args, **kwargs: 5.0)
    scheduler = BeatScheduler.__new__(BeatScheduler)  # no database: only tick() is under test

    assert scheduler.tick() == 5.0
    assert heartbeat.exists()
    first = heartbeat.stat().st_mtime_ns
    os.utime(heartbeat, ns=(first - 10**9, first - 10**9))
    scheduler.tick()
    assert heartbeat.stat().st_mtime_ns > first - 10**9
    assert "BeatScheduler" in settings.CELERY_BEAT_SCHEDULER


def _queues(command: str) -> set[str]:
    found = re.search(r"-Q[ =]([\w,]+)", command)
    return set(found.group(1).split(",")) if found else set()


def test_every_routed_queue_is_consumed_in_development_in_compose_and_by_the_test_worker():
    from django.conf import settings

    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} | {settings.CELERY_TASK_DEFAULT_QUEUE}
    procfile = dict(line.split(":", 1) for line in (BASE_DIR / "Procfile.dev").read_text().splitlines() if line)
    services = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())["services"]
    compose = set().union(*(_queues(s["command"]) for s in services.values() if "worker" in str(s.get("command"))))
    test_worker = re.search(r'"-Q", "([\w,]+)"', (BASE_DIR / "conftest.py").read_text()).group(1).split(",")

    assert "webhooks" in routed
    assert routed <= _queues(procfile["worker"])
    assert routed <= compose
    assert routed <= set(test_worker)
