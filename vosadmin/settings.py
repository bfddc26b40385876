"""Django settings for vosadmin.

Everything that differs between machines comes from the environment (see README, "Environment
variables"); missing or malformed values fail loudly at start-up. Runtime data lives in `var/`.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import environ
from csp.constants import NONE, SELF

from vosadmin.stack import SERVICE_VARIABLES, embedded_database_url, running_stack_urls

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VOSADMIN_VAR_DIR", BASE_DIR / "var"))

env = environ.Env()


def database_from_url(url: str, application_name: str) -> dict:
    """Turn `postgresql://user:password@host:port/name?host=/socket/dir` into a DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise environ.ImproperlyConfigured(f"DATABASE_URL must be a PostgreSQL URL, not {url!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    name = unquote(parts.path.lstrip("/")) or "vosadmin"
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or "") or query.pop("user", "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": query.pop("host", None) or unquote(parts.hostname or ""),
        "PORT": str(parts.port or query.pop("port", "")),
        "CONN_MAX_AGE": env.int("DATABASE_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"application_name": application_name, **query},
        # test_<name>: runs against databases of different names never share a test database
        "TEST": {"NAME": env.str("DATABASE_TEST_NAME", default=f"test_{name}")},
    }


def process_name() -> str:
    """Name this process for `pg_stat_activity`: web, worker, beat, sipengine, manage…"""
    if name := os.environ.get("VOSADMIN_PROCESS"):
        return name
    argv = " ".join(sys.argv)
    for marker, name in (
        ("runsipengine", "sipengine"),
        ("beat", "beat"),
        ("worker", "worker"),
        ("pytest", "test"),
        ("daphne", "web"),
    ):
        if marker in argv:
            return name
    return "manage"


def secret_key() -> str:
    """SECRET_KEY from the environment, else a key generated once into `var/secret_key`."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


PROCESS_NAME = process_name()
SECRET_KEY = secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Unset URLs come from a running `make run` (var/stack.env), so that a plain `manage.py` reaches
# its embedded services; without one, PostgreSQL defaults to the embedded one's socket.
stack_urls = {} if all(os.environ.get(name) for name in SERVICE_VARIABLES) else running_stack_urls()
database_url = (
    os.environ.get("DATABASE_URL") or stack_urls.get("DATABASE_URL") or embedded_database_url()
)
DATABASES = {"default": database_from_url(database_url, f"vosadmin-{PROCESS_NAME}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL") or stack_urls.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "vosadmin:cache",
    }
}

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "channels",
    "axes",
    "csp",
    "vosadmin.core",
    "softswitch",
    "billing",
    "blacklist",
    "vosadmin.alarms",
    "vosadmin.external",
]

MIDDLEWARE = [
    "vosadmin.core.middleware.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "vosadmin.core.middleware.LoginRequiredMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Request limits (RequestLimitsMiddleware): a longer URL is a 414, a larger body a 413, before
# anything reads them. The body limit leaves room for a CSV import of 100,000 rows; JSON and
# form bodies are held to Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) as well (also a 413).
MAX_URL_LENGTH = env.int("MAX_URL_LENGTH", default=8192)
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=16 * 1024 * 1024)

ROOT_URLCONF = "vosadmin.urls"
ASGI_APPLICATION = "vosadmin.asgi.application"
WSGI_APPLICATION = "vosadmin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vosadmin.core.context_processors.console",
            ],
        },
    },
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "vosadmin.core.validators.ParameterMinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# `manage.py bootstrap` writes the first administrator's generated password here (mode 0600);
# the file is deleted when that administrator first logs in.
ADMIN_PASSWORD_FILE = Path(env.str("ADMIN_PASSWORD_FILE", default=str(VAR_DIR / "admin-password")))
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Login lock-out: the limit and the lock time are system parameters, read on every attempt.
AXES_FAILURE_LIMIT = "vosadmin.core.lockout.failure_limit"
AXES_COOLOFF_TIME = "vosadmin.core.lockout.cool_off_time"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "vosadmin.core.lockout.locked_out_response"
AXES_VERBOSE = False
# Lock-out is per user name *and* source address: failures from one address lock that name
# there only, so a stranger guessing `admin`'s password cannot lock the real admin out from
# everywhere, and one office behind a NAT address is not locked out as a whole either.

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it before collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["vosadmin.core.api.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "vosadmin.core.api.filters.FilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "vosadmin.core.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "vosadmin.core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "vosadmin.core.api.exceptions.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "vosadmin.core.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# VOS3000-compatible Web API (SPEC §9, vosadmin/external/access.py): the TLS proxies whose
# X-Forwarded-For is believed (addresses or CIDRs; empty: the TCP peer is the source), and
# whether an API token (`Authorization: Token <key>`) is required on top of the allow-list.
EXTERNAL_API_TRUSTED_PROXIES = [
    str(ipaddress.ip_network(address, strict=False))  # a malformed entry stops the start-up
    for address in env.list("EXTERNAL_API_TRUSTED_PROXIES", default=[])
]
EXTERNAL_API_TOKEN_REQUIRED = env.bool("EXTERNAL_API_TOKEN_REQUIRED", default=False)

SPECTACULAR_SETTINGS = {
    "TITLE": "vosadmin API",
    "DESCRIPTION": "REST API of the vosadmin softswitch console.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema and its docs are for users holding a role (session or token), as every page.
    "SERVE_PERMISSIONS": ["vosadmin.core.api.permissions.RolePermission"],
    # A rule's type and an alarm's (the rule's when it was raised) are one enum.
    "ENUM_NAME_OVERRIDES": {"AlarmTypeEnum": "vosadmin.alarms.choices.AlarmTypeChoices"},
}

# Content-Security-Policy (django-csp): every script, style, image and font is a local static
# file; no inline script, no inline style sheet, nothing from another origin. `connect-src
# 'self'` covers the console's own WebSocket (/ws/).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# A WebSocket consumer waits for its messages in a Redis BZPOPMIN of 5 s (channels_redis's
# brpop_timeout). redis-py 8 reads with a default socket timeout of 5 s, which ended that wait
# with a TimeoutError and closed every idle live page's socket each 5 s; and on Python 3.11 each
# send under a socket timeout goes through asyncio.wait_for, which can swallow a cancellation
# (CPython gh-86296; softswitch/engine/background.py), so a closed consumer's receive could run
# on. Hence no socket timeout, as before redis-py 8; its TCP keepalive (on by default since 8)
# ends a connection whose peer vanished (tests/core/test_channel_layer.py).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
            "prefix": "vosadmin:channels",
        },
    }
}

# The SIP engine (softswitch/engine): where it listens and how it names itself.
SIP_LISTEN = env.str("SIP_LISTEN", default="127.0.0.1:5060")
SIP_NODE_NAME = env.str("SIP_NODE_NAME", default="node1")
SIP_NODE_ID = env.int("SIP_NODE_ID", default=1)  # 0–1022, unique per node (CDR flow numbers)
# Engine processes behind SIP_LISTEN (docs/adr/0011): one per core this process may run on
# unless set; worker n is node SIP_NODE_NAME-n with id SIP_NODE_ID + n.
SIP_WORKERS = env.int(
    "SIP_WORKERS",
    default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
)
SIP_ADVERTISED_HOST = env.str(
    "SIP_ADVERTISED_HOST", default=""
)  # Via/Contact host if not SIP_LISTEN's
SIP_REALM = env.str("SIP_REALM", default="vosadmin")
# Offered digest algorithms, in order: many clients answer the first one they see.
SIP_DIGEST_ALGORITHMS = env.list("SIP_DIGEST_ALGORITHMS", default=["MD5", "SHA-256"])
SIP_SPOOL_DIR = Path(env.str("SIP_SPOOL_DIR", default=str(VAR_DIR / "spool")))
# Diagnostics: `kill -USR2` also runs a full collection and counts the cyclic garbage it found
# (0 expected: a finished call must be freed by reference counting alone). Costs a pause.
SIP_COUNT_CYCLIC_GARBAGE = env.bool("SIP_COUNT_CYCLIC_GARBAGE", default=False)
# Overload control (docs/adr/0010): once what the engine receives has waited unread in its UDP
# socket longer than this for the hold, new INVITEs and REGISTERs get 503 with this
# Retry-After (seconds).
SIP_OVERLOAD_DELAY_MS = env.int("SIP_OVERLOAD_DELAY_MS", default=100)  # 0: never (ADR 0010)
SIP_OVERLOAD_HOLD_MS = env.int("SIP_OVERLOAD_HOLD_MS", default=500)  # the wait past it this long
SIP_OVERLOAD_RETRY_AFTER = env.int("SIP_OVERLOAD_RETRY_AFTER", default=2)

# Prometheus (SPEC §10). An engine node serves its metrics on SIP_METRICS_LISTEN (HOST:PORT;
# empty: off). The console's /metrics is open to administrators' API tokens and to the scraper
# addresses (CIDRs) listed here; none by default, since behind a reverse proxy on the same host
# every request would come from loopback.
SIP_METRICS_LISTEN = env.str("SIP_METRICS_LISTEN", default="")
METRICS_ALLOWED_ADDRESSES = [
    str(ipaddress.ip_network(address, strict=False))  # a malformed entry stops the start-up
    for address in env.list("METRICS_ALLOWED_ADDRESSES", default=[])
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
    },
}
