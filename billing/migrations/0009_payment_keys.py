"""A payment may carry a key (console confirmation, API Idempotency-Key): paid once per key."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0008_report_hour_marks_are_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="key",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="The console confirmation's or API call's Idempotency-Key: paid once.",
                max_length=64,
                null=True,
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.UniqueConstraint(
                fields=("account", "key"), name="billing_payment_once_per_key"
            ),
        ),
    ]
