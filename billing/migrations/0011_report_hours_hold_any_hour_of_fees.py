"""A report hour's fee and cost hold any hour of CDRs: numeric(28, 4) (was numeric(18, 4)).

One hour of more than 10,000 calls at the most a CDR holds overflowed it, and the hour failed
on every run. A wider precision at the same scale is a catalog change (no table rewrite)."""

from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0010_rates_bounded_by_what_a_cdr_holds"),
    ]

    operations = [
        migrations.AlterField(
            model_name="gatewayhour",
            name="cost",
            field=models.DecimalField(
                decimal_places=4, default=Decimal("0"), max_digits=28, verbose_name="cost"
            ),
        ),
        migrations.AlterField(
            model_name="gatewayhour",
            name="fee",
            field=models.DecimalField(
                decimal_places=4, default=Decimal("0"), max_digits=28, verbose_name="fee"
            ),
        ),
    ]
