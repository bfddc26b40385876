"""Indexes for the CDR filters (Cdr.Meta.indexes says why each exists).

CREATE INDEX on the partitioned parent creates the index on every existing partition and makes
PostgreSQL create it on each future one, so AddIndex is all it takes.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="cdr",
            index=models.Index(fields=["start_time", "flow_no"], name="billing_cdr_start_flow"),
        ),
        migrations.AddIndex(
            model_name="cdr",
            index=models.Index(
                fields=["billing_mode", "start_time", "flow_no"], name="billing_cdr_mode_start"
            ),
        ),
        migrations.AddIndex(
            model_name="cdr",
            index=models.Index(
                fields=["caller"], name="billing_cdr_caller", opclasses=["varchar_pattern_ops"]
            ),
        ),
        migrations.AddIndex(
            model_name="cdr",
            index=models.Index(
                fields=["callee"], name="billing_cdr_callee", opclasses=["varchar_pattern_ops"]
            ),
        ),
    ]
