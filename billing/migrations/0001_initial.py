"""The CDR table, partitioned by day on start_time (docs/adr/0004-cdr-storage.md).

Django's state is the plain model; the database gets a native range-partitioned table whose
primary key includes the partition key, plus partitions around today.
"""

from datetime import timedelta

from django.db import migrations, models
from django.utils import timezone

CREATE_PARTITIONED_TABLE = """
CREATE TABLE "billing_cdr" (
    "flow_no" bigint NOT NULL,
    "call_id" varchar(255) NOT NULL,
    "caller" varchar(64) NOT NULL,
    "callee" varchar(64) NOT NULL,
    "caller_ip" varchar(64) NOT NULL,
    "callee_ip" varchar(64) NOT NULL,
    "mapping_gateway" varchar(64) NOT NULL,
    "phone" varchar(33) NOT NULL,
    "routing_gateway" varchar(64) NOT NULL,
    "start_time" timestamp with time zone NOT NULL,
    "connect_time" timestamp with time zone NULL,
    "stop_time" timestamp with time zone NOT NULL,
    "hold_time_ms" bigint NOT NULL,
    "fee_time" integer NOT NULL,
    "fee" numeric(14, 4) NOT NULL,
    "end_reason" integer NOT NULL,
    "end_direction" smallint NOT NULL,
    "billing_mode" smallint NOT NULL,
    PRIMARY KEY ("flow_no", "start_time")
) PARTITION BY RANGE ("start_time");
"""


def create_initial_partitions(apps, schema_editor):
    from billing.partitions import ensure_cdr_partitions

    today = timezone.now().date()
    ensure_cdr_partitions(today - timedelta(days=1), today + timedelta(days=7))


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Cdr",
                    fields=[
                        (
                            "flow_no",
                            models.BigIntegerField(
                                primary_key=True, serialize=False, verbose_name="flow number"
                            ),
                        ),
                        (
                            "call_id",
                            models.CharField(blank=True, max_length=255, verbose_name="Call-ID"),
                        ),
                        (
                            "caller",
                            models.CharField(
                                blank=True, max_length=64, verbose_name="caller E.164"
                            ),
                        ),
                        (
                            "callee",
                            models.CharField(
                                blank=True, max_length=64, verbose_name="callee E.164"
                            ),
                        ),
                        (
                            "caller_ip",
                            models.CharField(
                                blank=True, max_length=64, verbose_name="caller IP:port"
                            ),
                        ),
                        (
                            "callee_ip",
                            models.CharField(
                                blank=True, max_length=64, verbose_name="callee IP:port"
                            ),
                        ),
                        (
                            "mapping_gateway",
                            models.CharField(
                                blank=True, max_length=64, verbose_name="mapping gateway"
                            ),
                        ),
                        (
                            "phone",
                            models.CharField(blank=True, max_length=33, verbose_name="phone"),
                        ),
                        (
                            "routing_gateway",
                            models.CharField(
                                blank=True, max_length=64, verbose_name="routing gateway"
                            ),
                        ),
                        (
                            "start_time",
                            models.DateTimeField(
                                help_text="When the INVITE was received.", verbose_name="start time"
                            ),
                        ),
                        (
                            "connect_time",
                            models.DateTimeField(
                                blank=True, null=True, verbose_name="connect time"
                            ),
                        ),
                        ("stop_time", models.DateTimeField(verbose_name="stop time")),
                        (
                            "hold_time_ms",
                            models.BigIntegerField(default=0, verbose_name="hold time (ms)"),
                        ),
                        ("fee_time", models.IntegerField(default=0, verbose_name="fee time (s)")),
                        (
                            "fee",
                            models.DecimalField(
                                decimal_places=4, default=0, max_digits=14, verbose_name="fee"
                            ),
                        ),
                        ("end_reason", models.IntegerField(verbose_name="end reason")),
                        (
                            "end_direction",
                            models.SmallIntegerField(
                                choices=[(0, "Caller"), (1, "Callee"), (2, "Server")],
                                verbose_name="end direction",
                            ),
                        ),
                        (
                            "billing_mode",
                            models.SmallIntegerField(
                                choices=[
                                    (0, "Phone account"),
                                    (1, "Mapping gateway account"),
                                    (2, "Bound number account"),
                                    (3, "Phone card account"),
                                    (-1, "No billing"),
                                    (-2, "Illegal call"),
                                ],
                                verbose_name="billing mode",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "CDR",
                        "verbose_name_plural": "CDRs",
                        "ordering": ["-start_time", "-flow_no"],
                    },
                )
            ],
            database_operations=[
                migrations.RunSQL(CREATE_PARTITIONED_TABLE, 'DROP TABLE "billing_cdr"'),
            ],
        ),
        migrations.RunPython(create_initial_partitions, migrations.RunPython.noop),
    ]
