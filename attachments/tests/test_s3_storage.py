"""Pointing Taskhub at S3 is a settings change: the storage the settings pick is django-storages'."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_setting_a_bucket_switches_attachments_to_s3():
    env = {**os.environ, "AWS_STORAGE_BUCKET_NAME": "taskhub-attachments", "AWS_S3_REGION_NAME": "eu-west-1"}
    probe = (
        "import django; django.setup();"
        "from django.core.files.storage import storages; s = storages[\"default\"];"
        "print(type(s).__module__, type(s).__name__, s.bucket_name)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=BASE_DIR, env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["storages.backends.s3", "S3Storage", "taskhub-attachments"]
