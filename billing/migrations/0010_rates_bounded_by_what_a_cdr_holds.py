"""A rate is bounded by what a CDR holds: its longest call (86,400 s) at most 9,999,999,999.

A larger one gave CDRs PostgreSQL refused (numeric field overflow), and the engine's CDR
writer could write none after them. A database that holds such a rate refuses this
migration naming the constraint: correct the rate (its fee is a typing error) and migrate.
"""

from decimal import Decimal

import django.db.models.expressions
import django.db.models.functions
import django.db.models.lookups
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0009_payment_keys"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="rate",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    models.ExpressionWrapper(
                        django.db.models.expressions.CombinedExpression(
                            models.F("first_fee"),
                            "+",
                            django.db.models.expressions.CombinedExpression(
                                models.F("fee"),
                                "*",
                                django.db.models.expressions.CombinedExpression(
                                    django.db.models.expressions.CombinedExpression(
                                        models.Value(86399),
                                        "/",
                                        django.db.models.functions.NullIf(models.F("period"), 0),
                                    ),
                                    "+",
                                    models.Value(1),
                                ),
                            ),
                        ),
                        output_field=models.DecimalField(),
                    ),
                    Decimal("9999999999"),
                ),
                name="billing_rate_longest_call_fits_a_cdr",
            ),
        ),
    ]
