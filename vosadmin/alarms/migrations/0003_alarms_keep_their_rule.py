"""Alarms keep their rule's name, type and threshold, and outlive the rule: deleting a rule
clears its open alarms (with their webhooks) and keeps its history."""

from django.db import migrations, models
from django.db.models.deletion import SET_NULL

TYPES = [
    ("mapping_asr", "Mapping gateway ASR below floor (%)"),
    ("routing_asr", "Routing gateway ASR below floor (%)"),
    ("mapping_acd", "Mapping gateway ACD below floor (s)"),
    ("routing_acd", "Routing gateway ACD below floor (s)"),
    ("concurrency", "Calls in progress above ceiling"),
    ("illegal_calls", "Illegal calls per minute above ceiling"),
    ("cdr_backlog", "CDRs waiting in an engine journal above ceiling"),
    ("balance", "Account balance below floor"),
    ("process_down", "Process silent for longer than (s)"),
]


def copy_rules(apps, schema_editor) -> None:
    Alarm = apps.get_model("alarms", "Alarm")
    AlarmRule = apps.get_model("alarms", "AlarmRule")
    for rule in AlarmRule.objects.all():
        Alarm.objects.filter(rule=rule).update(
            rule_name=rule.name, type=rule.type, threshold=rule.threshold
        )


class Migration(migrations.Migration):
    dependencies = [("alarms", "0002_retire_worker_heartbeat_schedule")]

    operations = [
        migrations.AddField(
            model_name="alarm",
            name="rule_name",
            field=models.CharField(default="", max_length=64, verbose_name="rule"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="alarm",
            name="type",
            field=models.CharField(choices=TYPES, default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="alarm",
            name="threshold",
            field=models.DecimalField(decimal_places=4, default=0, max_digits=14),
            preserve_default=False,
        ),
        migrations.RunPython(copy_rules, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="alarm",
            name="rule",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=SET_NULL,
                related_name="alarms",
                to="alarms.alarmrule",
            ),
        ),
    ]
