"""WSGI entry point (the console normally runs on ASGI under daphne; see asgi.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vosadmin.settings")

application = get_wsgi_application()
