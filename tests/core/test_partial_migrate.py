"""`manage.py migrate <app> <migration>` on a database whose beat or core schema is not
current — missing (a fresh database) or older than the models (beat rolled back) — migrates
that app: the schedules are synced only once those schemas are current (it failed with
"relation django_celery_beat_intervalschedule does not exist", then "column
django_celery_beat_periodictask.clocked_id does not exist")."""

from __future__ import annotations

import os
import subprocess

from tests.helpers import run_manage_py


def manage(database_url: str, *arguments: str) -> subprocess.CompletedProcess:
    return run_manage_py(*arguments, env={**os.environ, "DATABASE_URL": database_url}, timeout=300)


def test_one_app_migrates_alone_then_everything_syncs_the_schedules(fresh_database_url) -> None:
    alone = manage(fresh_database_url, "migrate", "billing", "0005")
    assert alone.returncode == 0, alone.stderr[-2000:]
    assert "Applying billing.0005_cdr_rating... OK" in alone.stdout
    whole = manage(fresh_database_url, "migrate")
    assert whole.returncode == 0, whole.stderr[-2000:]
    tasks = manage(
        fresh_database_url,
        "shell",
        "-c",
        "from django_celery_beat.models import PeriodicTask; print(PeriodicTask.objects.count())",
    )
    from vosadmin.core.schedules import SCHEDULES

    assert tasks.stdout.strip().splitlines()[-1] == str(len(SCHEDULES))


def test_beat_rolled_back_then_forward_again(fresh_database_url) -> None:
    assert manage(fresh_database_url, "migrate").returncode == 0
    back = manage(fresh_database_url, "migrate", "django_celery_beat", "0008")
    assert back.returncode == 0, back.stderr[-2000:]
    forward = manage(fresh_database_url, "migrate")
    assert forward.returncode == 0, forward.stderr[-2000:]
