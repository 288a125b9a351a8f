"""Django settings for gridcare.

Configuration comes from environment variables only:

- ``DATABASE_URL``: e.g. ``postgres://user:pass@127.0.0.1:5432/gridcare``; default is the embedded SQLite
  file ``var/gridcare.sqlite3`` of the var directory (one-command demo).
- ``REDIS_URL``: Celery broker and cache; unset means tasks run inline and the cache is local memory.
  ``GRIDCARE_CELERY_QUEUE`` (``celery``) and ``GRIDCARE_CELERY_VISIBILITY_SECONDS`` (3600) for the workers.
- ``GRIDCARE_SECRET_KEY``, ``GRIDCARE_DEBUG``, ``GRIDCARE_ALLOWED_HOSTS``.
- ``GRIDCARE_VAR_DIR`` and ``GRIDCARE_NODE_MODULES``: default to ``var/`` and ``node_modules/`` of the project
  checkout (or a per-user data directory when installed) — never the current directory (:mod:`gridcare.paths`).
- ``GRIDCARE_DB_PREPARED``: ``1`` (default) prepares the hot-path statements on PostgreSQL; ``0`` behind a
  connection pooler in transaction mode.
- ``GRIDCARE_INTERVAL_STORE``: the root of the 15-minute interval dataset (hive-partitioned Parquet, see
  docs/readings.md); default ``intervals/`` of the var directory, next to the SQLite file.
- Security (docs/security.md): ``GRIDCARE_HTTPS=1`` declares that the site is served over HTTPS (Secure cookies,
  HSTS, redirect to HTTPS, ``X-Forwarded-Proto`` from the proxy); ``GRIDCARE_HSTS_SECONDS``,
  ``GRIDCARE_CSRF_TRUSTED_ORIGINS``; ``GRIDCARE_SESSION_HOURS`` (8), ``GRIDCARE_SESSION_EXPIRE_AT_BROWSER_CLOSE``
  (1); ``GRIDCARE_LOGIN_FAILURE_LIMIT`` (5) and ``GRIDCARE_LOGIN_COOLOFF_MINUTES`` (15) lock a user name at one
  address out after that many wrong passwords; ``GRIDCARE_RATE_LOGIN`` (10/min per user name and address on
  ``/api/auth/token/``), ``GRIDCARE_RATE_USER`` (20000/min per signed-in user), ``GRIDCARE_RATE_ANON``
  (600/min per address) throttle the API.
- Meter reading: ``GRIDCARE_READING_FOLLOW_UP_DAYS`` (3) to decide a reading exception on time,
  ``GRIDCARE_BILLING_LEAD_DAYS`` (5) from a route's reading day to its billing day.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from gridcare import paths

PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = paths.var_dir()
VAR_DIR.mkdir(parents=True, exist_ok=True)
#: the interval data store (负荷曲线数据): a directory of Parquet files (gridcare.readings.store)
GRIDCARE_INTERVAL_STORE = Path(
    os.environ.get("GRIDCARE_INTERVAL_STORE") or VAR_DIR / "intervals"
).expanduser()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = os.environ.get(
    "GRIDCARE_SECRET_KEY", "gridcare-demo-secret-key-change-me-in-production-0123456789"
)
DEBUG = _env_bool("GRIDCARE_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("GRIDCARE_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "axes",
    "csp",
    "gridcare.core",
    "gridcare.org",
    "gridcare.customers",
    "gridcare.metering",
    "gridcare.tariffs",
    "gridcare.service",
    "gridcare.web",
    # after the older apps: where an English text is translated differently, theirs keeps precedence
    "gridcare.readings",
    "gridcare.billing",
    "gridcare.ledger",
    "gridcare.keyaccounts",
    "gridcare.market",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gridcare.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "gridcare.core.middleware.InputHygieneMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "gridcare.core.middleware.RequestIdMiddleware",
    "csp.middleware.CSPMiddleware",
    # last: turns a lockout flagged by the authentication backend into the lockout answer (429)
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gridcare.urls"
WSGI_APPLICATION = "gridcare.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gridcare.web.context.workbench",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'gridcare.sqlite3'}",
        conn_max_age=int(os.environ.get("GRIDCARE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif os.environ.get("GRIDCARE_DB_PREPARED", "1") == "1":
    # The hot statements (gridcare.core.rows.fetch_one) are prepared once per connection, so PostgreSQL neither
    # parses nor plans them again; nothing else is prepared automatically. Behind a pooler in transaction mode
    # that cannot carry prepared statements, set GRIDCARE_DB_PREPARED=0.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "org.User"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TIMEZONE = "Asia/Shanghai"
# Workers (docs/billing.md, executors and recovery): a task is acknowledged only once it is done, one task at a
# time per worker process, so a killed worker's task goes back to the queue — at once when a pool child dies, after
# the visibility timeout (GRIDCARE_CELERY_VISIBILITY_SECONDS) when the whole worker dies. GRIDCARE_CELERY_QUEUE
# names the queue (a test run or a second installation on the same Redis uses its own).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("GRIDCARE_CELERY_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("GRIDCARE_CELERY_VISIBILITY_SECONDS", "3600")),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
# Head-end reads: settle right after each receipt batch commits (0: only the beat sweep / readings settle settle,
# e.g. to measure the receipt alone — gridcare.readings.conf).
GRIDCARE_HEADEND_SETTLE_AFTER_RECEIPT = _env_bool("GRIDCARE_HEADEND_SETTLE_AFTER_RECEIPT", True)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login protection: django-axes counts wrong passwords per (user name, address) on /login/ and /api/auth/token/
# and locks that pair out for a while; its logs feed the login log screen (security.view_logins).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("GRIDCARE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("GRIDCARE_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "gridcare.org.security.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False
# Sessions end after a working day, and (by default) when the browser closes.
SESSION_COOKIE_AGE = int(float(os.environ.get("GRIDCARE_SESSION_HOURS", "8")) * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = _env_bool("GRIDCARE_SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# HTTPS declared (behind a TLS-terminating proxy that sets X-Forwarded-Proto): Secure cookies, HSTS, redirect.
HTTPS = _env_bool("GRIDCARE_HTTPS", False)
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("GRIDCARE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("GRIDCARE_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
# Content-Security-Policy: scripts only from our own static files (no inline script or event handler in any
# template); styles allow inline ``style`` attributes. The API documentation pages (Swagger UI / ReDoc bootstrap
# themselves with inline scripts) are excluded.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs/", "/api/redoc/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workbench"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
#: uploaded documents (market research attachments …): served only through scoped views, never as static files
MEDIA_ROOT = Path(os.environ.get("GRIDCARE_MEDIA_DIR") or VAR_DIR / "media").expanduser()
MEDIA_URL = "/media/"
NODE_MODULES = paths.node_modules_dir(VAR_DIR)
STATICFILES_DIRS = [("vendor", NODE_MODULES)] if NODE_MODULES.exists() else []
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "gridcare.api.authentication.PositionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "gridcare.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "gridcare.api.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["gridcare.core.scoped.ScopedFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "gridcare.api.errors.exception_handler",
    # bounded size and depth, the text rule on every string (gridcare.api.parsers)
    "DEFAULT_PARSER_CLASSES": [
        "gridcare.api.parsers.BoundedJSONParser",
        "gridcare.api.parsers.CheckedFormParser",
        "gridcare.api.parsers.CheckedMultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "gridcare.api.throttling.UserRateThrottle",
        "gridcare.api.throttling.AnonRateThrottle",
    ],
}
# Fixed-window API throttles (gridcare.api.throttling), counted in the cache (per process without REDIS_URL).
GRIDCARE_THROTTLE_RATES = {
    "user": os.environ.get("GRIDCARE_RATE_USER", "20000/min"),
    "anon": os.environ.get("GRIDCARE_RATE_ANON", "600/min"),
    "login": os.environ.get("GRIDCARE_RATE_LOGIN", "10/min"),
    # a bank's integration account on the channel interface (代收): ≥ 1,000 payments/s must pass (issue #13)
    "channel": os.environ.get("GRIDCARE_RATE_CHANNEL", "180000/min"),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # 2.5 MiB: the largest JSON body or form the API and UI accept
SPECTACULAR_SETTINGS = {
    "TITLE": "gridcare API",
    "DESCRIPTION": "电力营销服务系统 REST API — electricity marketing & customer service",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # one component name per choice set (choice classes named alike in different models would collide)
    "ENUM_NAME_OVERRIDES": {
        "CustomerKindEnum": "gridcare.customers.models.Customer.Kind",
        "AccountStatusEnum": "gridcare.customers.models.Account.Status",
        "ContractStatusEnum": "gridcare.customers.models.SupplyContract.Status",
        "RegisterEnum": "gridcare.metering.models.Register",
        "InstallationReasonEnum": "gridcare.metering.models.Installation.Reason",
        "MeterKindEnum": "gridcare.metering.models.Meter.Kind",
        "MeterStatusEnum": "gridcare.metering.models.Meter.Status",
        "OrgUnitKindEnum": "gridcare.org.models.OrgUnit.Kind",
        "DataScopeEnum": "gridcare.org.models.Position.DataScope",
        "PositionChangeKindEnum": "gridcare.org.models.PositionChangeRequest.Kind",
        "PositionChangeStatusEnum": "gridcare.org.models.PositionChangeRequest.Status",
        "WorkOrderStatusEnum": "gridcare.service.choices.Status",
        "NoticeKindEnum": "gridcare.service.models.ServiceNotice.Kind",
        "StockItemKindEnum": "gridcare.service.models.StockItem.Kind",
        "StockMovementKindEnum": "gridcare.service.models.StockMovement.Kind",
        "CompensationStatusEnum": "gridcare.service.models.Compensation.Status",
        "TariffKindEnum": "gridcare.tariffs.models.Tariff.Kind",
        "RouteFrequencyEnum": "gridcare.readings.models.Route.Frequency",
        "RouteModeEnum": "gridcare.readings.models.Route.Mode",
        "ReadingTaskStatusEnum": "gridcare.readings.models.ReadingTask.Status",
        "MeterConditionEnum": "gridcare.readings.models.Condition",
        "MeterReadSourceEnum": "gridcare.readings.models.MeterRead.Source",
        "MeterReadStatusEnum": "gridcare.readings.models.MeterRead.Status",
        "ReadExceptionStatusEnum": "gridcare.readings.models.ReadException.Status",
        "ReadExceptionSeverityEnum": "gridcare.readings.models.ReadException.Severity",
        "BillingRunStatusEnum": "gridcare.billing.models.BillingRun.Status",
        "RunChunkStatusEnum": "gridcare.billing.models.RunChunk.Status",
        "BillStatusEnum": "gridcare.billing.models.Bill.Status",
        "LedgerEntryKindEnum": "gridcare.ledger.models.Entry.Kind",
        "LedgerMethodEnum": "gridcare.ledger.models.Method",
        "ApprovalRequestKindEnum": "gridcare.ledger.models.ApprovalRequest.Kind",
        "BillKindEnum": "gridcare.billing.models.Bill.Kind",
        "RebillKindEnum": "gridcare.billing.models.Rebill.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "gridcare.api.schema.declare_error_responses",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("GRIDCARE_LOG_LEVEL", "WARNING")},
}

# Meter reading (gridcare.readings.conf): days to decide a reading exception on time (异常处理及时率), and days from a
# route's reading day to its billing day (exceptions still open then hold the account's bill).
GRIDCARE_READINGS = {
    "follow_up_days": int(os.environ.get("GRIDCARE_READING_FOLLOW_UP_DAYS", "3")),
    "billing_lead_days": int(os.environ.get("GRIDCARE_BILLING_LEAD_DAYS", "5")),
}

GRIDCARE_APP_NAME = _("gridcare electricity marketing & service")
