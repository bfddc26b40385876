#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    """Run administrative tasks."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vosadmin.settings")
    from django.core.management import execute_from_command_line

    from vosadmin.stack import unreachable_service_hint

    try:
        execute_from_command_line(sys.argv)
    except Exception as error:
        hint = unreachable_service_hint(error)
        if hint is None:
            raise
        sys.exit(hint)


if __name__ == "__main__":
    main()
