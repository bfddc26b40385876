"""The Celery application shared by the worker and beat.

Periodic tasks live in django-celery-beat's tables so that operators can change their intervals
(the dynamic-blacklist check intervals are system parameters); `vosadmin.core.schedules` keeps
those rows in step with the parameters, and is the one place that lists every schedule.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vosadmin.settings")

app = Celery("vosadmin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
