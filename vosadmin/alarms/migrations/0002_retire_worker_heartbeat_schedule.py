"""The worker sends its heartbeat task itself now (vosadmin/alarms/watch.py): beat's schedule
of it goes, so that the heartbeat no longer stops when beat does."""

from django.db import migrations

NAME = "Monitoring: worker heartbeat"


def retire(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("alarms", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(retire, migrations.RunPython.noop)]
