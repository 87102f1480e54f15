"""Settings, read from environment variables (see README "Production settings").

With nothing set this is the embedded demo: SQLite, an in-process cache and Celery tasks run
eagerly. Setting DATABASE_URL and REDIS_URL switches to PostgreSQL, a Redis cache and a Redis
broker. Outside DEBUG, SECRET_KEY and ALLOWED_HOSTS have no defaults.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from tracker.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_required,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DATABASE_URL = env_url("DATABASE_URL", {"postgres", "postgresql", "sqlite"})
REDIS_URL = env_url("REDIS_URL", {"redis", "rediss"})

# The embedded demo (no DATABASE_URL) defaults to DEBUG; a deployment defaults to production.
DEBUG = env_bool("DEBUG", default=DATABASE_URL is None)

if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY") or "demo-only-insecure-key-do-not-use-in-production"
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    SECRET_KEY = env_required("SECRET_KEY")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters of random text")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off")

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "simple_history",
    # django-axes, under a configuration that names it in Chinese in the admin.
    "tracker.apps.LoginProtectionConfig",
    "csp",
    # Not "rest_framework": its zh_Hans catalog would override Django's own translations of form
    # errors on every page ("This field is required."); the API renders JSON only and needs no
    # DRF templates or static files.
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tracker",
    "projects",
    "supervision",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before anything reads a body (the CSRF check, forms, the API's parser): 413 in Chinese;
    # and database refusals of a write as a 409 page, not a 500.
    "tracker.middleware.RefusalMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tracker.urls"
WSGI_APPLICATION = "tracker.wsgi.application"

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
                "tracker.context_processors.site",
                "supervision.context_processors.notifications",
            ],
        },
    },
]

if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # PostgreSQL's JIT compiles the grouped ranking and alert queries for longer than they
        # run (docs/benchmarks.md); this is short-query work, so it is off for our sessions.
        DATABASES["default"].setdefault("OPTIONS", {})
        DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH") or str(BASE_DIR / "db.sqlite3"),
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    # Fail-soft (tracker/cache.py): while Redis is unreachable the cache answers as an empty one,
    # so pages and the API keep working; short timeouts so a dead server costs little.
    CACHES = {
        "default": {
            "BACKEND": "tracker.cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tracker",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username and address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Validators apply wherever a password is chosen (the password-change page, the admin). The demo's
# users keep their documented password because seed_demo hashes it directly.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "tracker.passwords.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("TRACKER_PASSWORD_MIN_LENGTH", 10, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "tracker.passwords.KnownDefaultPasswordValidator"},
]

# Login protection (django-axes; docs/security.md). Failed logins are counted in the database
# per username and client address, so a lock works without Redis and an attacker guessing one
# account from one address does not lock its owner out everywhere. After
# TRACKER_LOGIN_FAILURE_LIMIT failures in a row (none more than the cool-off apart) that pair is
# refused, even with the right password, for TRACKER_LOGIN_COOLOFF_MINUTES; the site and the
# admin login share the count. Bearer API tokens never pass through authenticate() and are not
# counted or locked.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("TRACKER_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("TRACKER_LOGIN_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# A success clears the pair's count; a try during the lock neither counts nor extends it, so the
# lockout page can say when it ends.
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# The log names the username and address of each failure, lockout and login (never a password):
# what an audit of logins asks for, and useless masked.
AXES_SENSITIVE_PARAMETERS: list[str] = []
AXES_LOCKOUT_CALLABLE = "tracker.login_protection.lockout_response"
# No "AXES: BEGIN …" banner on every start of every command and process.
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "tracker.login_protection.client_ip_address"
# tracker/admin.py registers the attempts and logs with Chinese labels and an unlock action.
AXES_ENABLE_ADMIN = False
# Reverse proxies in front of the application that append the client's address to
# X-Forwarded-For (nginx: proxy_add_x_forwarded_for); 0 when clients connect directly.
TRACKER_TRUSTED_PROXIES = env_int("TRACKER_TRUSTED_PROXIES", 0, minimum=0)
# Whom a locked-out user should call, shown on the lockout page (e.g. "县重点项目服务中心 1234567").
TRACKER_SUPPORT_CONTACT = env_str("TRACKER_SUPPORT_CONTACT") or ""

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security: strict by default outside DEBUG so `manage.py check --deploy` is clean.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): everything from our own origin, no inline script, style or
# event handler anywhere (templates keep their JS in static/js/<page>.js; tests/test_csp.py
# scans them). data: images are the favicon placeholder and icons inside vendored CSS. ECharts
# styles its canvas through the CSSOM, which a policy does not restrict, and draws its tooltips on
# the canvas (renderMode "richText" in static/js/). /api/docs/ (Swagger UI) relaxes style-src for
# itself only (projects/api/urls.py).
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
    },
}
# Our own Chinese page, in the site's layout, when a form's CSRF token is missing or stale.
CSRF_FAILURE_VIEW = "projects.views.errors.csrf_failure"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)

EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if env_str("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "tracker@localhost"

# Celery: a Redis broker when REDIS_URL is set, otherwise tasks run in-process (embedded demo).
CELERY_BROKER_URL = REDIS_URL or "memory://"
# No result store: nothing in the platform reads a task's result (the outbox records what ran),
# and a result store is one more Redis connection that must answer before a task can be sent.
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=REDIS_URL is None)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# A task whose worker dies before acknowledging it goes back to the queue after this long (the
# Redis transport's default is an hour). It must be longer than any task runs and than any retry
# countdown, or the message is delivered twice: tasks are idempotent, and the longest retry
# countdown (webhooks) is capped below it.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 900,
    # Sending: one quick retry, then give up (the outbox sends again later).
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Sending happens after commit (tracker/outbox.py): fail fast when the broker is unreachable, the
# outbox keeps the message and sends it again once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_IGNORE_RESULT = True

CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# One beat schedule for the whole product; keys say what runs, times are Asia/Shanghai.
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat-every-minute": {
        "task": "tracker.tasks.worker_heartbeat",
        "schedule": crontab(minute="*"),
    },
    "outbox-dispatch-every-minute": {
        "task": "tracker.tasks.dispatch_outbox",
        "schedule": crontab(minute="*"),
    },
    "scan-alerts-daily": {
        "task": "supervision.tasks.scan_alerts",
        "schedule": crontab(hour=1, minute=0),
    },
    "compute-rankings-daily": {
        "task": "supervision.tasks.compute_due_rankings",
        "schedule": crontab(hour=1, minute=30),
    },
    "prune-tombstones-daily": {
        "task": "projects.tasks.prune_tombstones",
        "schedule": crontab(hour=3, minute=10),
    },
    "prune-idempotency-keys-daily": {
        "task": "projects.tasks.prune_idempotency_keys",
        "schedule": crontab(hour=3, minute=15),
    },
    "prune-ledger-imports-daily": {
        "task": "projects.tasks.prune_ledger_imports",
        "schedule": crontab(hour=3, minute=20),
    },
    "send-notification-digests-daily": {
        "task": "supervision.tasks.send_email_digests",
        "schedule": crontab(hour=7, minute=30),
    },
}

# Reporting cadence of progress reports: week, dekad (旬), half_month or month, and how many days
# after a period ends its report is due.
TRACKER_REPORT_CADENCE = env_choice(
    "TRACKER_REPORT_CADENCE", "month", {"week", "dekad", "half_month", "month"}
)
TRACKER_REPORT_DEADLINE_DAYS = env_int("TRACKER_REPORT_DEADLINE_DAYS", 5, minimum=0)

# Separation of duties: whoever submits a progress report never approves or returns it, whoever
# reports an issue rectified never closes it (销号). On unless set to 0 (a one-person office).
TRACKER_SEPARATE_DUTIES = env_bool("TRACKER_SEPARATE_DUTIES", True)

# A ranking draft of a closed period is recomputed by the daily job until it is published, for
# this many days after its period ends (reports and corrections arrive after a period closes).
TRACKER_RANKING_REFRESH_DAYS = env_int("TRACKER_RANKING_REFRESH_DAYS", 92, minimum=0)

# Dashboards computed on demand (a past day nobody opened before, "recompute now") per user and
# minute; days already computed are always shown (docs/dashboards.md).
TRACKER_DASHBOARD_COMPUTATIONS_PER_MINUTE = env_int(
    "TRACKER_DASHBOARD_COMPUTATIONS_PER_MINUTE", 3, minimum=1
)

# The site's address as people reach it: links in e-mails and group-robot messages are absolute.
TRACKER_SITE_URL = env_url("TRACKER_SITE_URL", {"http", "https"}) or "http://127.0.0.1:8000"

# OC4IDS open data (docs/oc4ids.md): project identifiers begin with the prefix the OC4IDS helpdesk
# registered for the publisher, "oc4ids-" and six characters. The placeholder lets the demo and a
# county that does not publish yet run; `manage.py check --deploy` warns while it is in use.
OC4IDS_PLACEHOLDER_PREFIX = "oc4ids-xxxxxx"
TRACKER_OC4IDS_PREFIX = env_str("TRACKER_OC4IDS_PREFIX") or OC4IDS_PLACEHOLDER_PREFIX
if not re.fullmatch(r"oc4ids-[a-z0-9]{6}", TRACKER_OC4IDS_PREFIX):
    raise ImproperlyConfigured(
        "TRACKER_OC4IDS_PREFIX must be the project identifier prefix registered with the OC4IDS "
        "helpdesk: 'oc4ids-' and six lowercase letters or digits, e.g. oc4ids-bu3kcz; got "
        f"{TRACKER_OC4IDS_PREFIX!r}"
    )

# How long the API keeps tombstones; a mirror that last synced longer ago must pull everything.
TRACKER_TOMBSTONE_DAYS = env_int("TRACKER_TOMBSTONE_DAYS", 180, minimum=1)

# Largest file a unit may attach to an issue response (bytes; reverse proxies need a larger limit).
TRACKER_ATTACHMENT_MAX_BYTES = env_int(
    "TRACKER_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024
)

# Excel ledger imports (docs/ledgers.md): the largest upload, what it may unpack to, and the most
# data rows one sheet may hold.
TRACKER_LEDGER_MAX_BYTES = env_int("TRACKER_LEDGER_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
TRACKER_LEDGER_MAX_UNCOMPRESSED = env_int(
    "TRACKER_LEDGER_MAX_UNCOMPRESSED", 200 * 1024 * 1024, minimum=1024
)
TRACKER_LEDGER_MAX_ROWS = env_int("TRACKER_LEDGER_MAX_ROWS", 5000, minimum=1)
# Uploaded files and row previews of ledger imports are dropped after this many days (the record
# of who imported what, when, with what result, stays); imports never confirmed are cancelled.
TRACKER_LEDGER_KEEP_DAYS = env_int("TRACKER_LEDGER_KEEP_DAYS", 30, minimum=1)

# REST API (docs/api.md). Bearer first: its authenticate_header makes "not logged in" a 401.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "projects.api.authentication.BearerTokenAuthentication",
        "projects.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "projects.api.permissions.TokenScopePermission",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "projects.api.permissions.TokenRateThrottle",
        "projects.api.permissions.AnonymousRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "token": env_str("API_RATE_TOKEN") or "600/minute",
        "anon": env_str("API_RATE_ANONYMOUS") or "60/minute",
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bounded in nesting, with messages for people (projects/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["projects.api.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["projects.api.filtering.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "projects.api.schema.TrackerAutoSchema",
    "EXCEPTION_HANDLER": "projects.api.errors.api_exception_handler",
    # Times in the current time zone (Asia/Shanghai), so with a +08:00 offset.
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
for _scope, _rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items():
    if not re.fullmatch(r"[1-9][0-9]*/(second|minute|hour|day)", _rate):
        raise ImproperlyConfigured(f"API rate for {_scope!r} must look like 600/minute: {_rate!r}")

SPECTACULAR_SETTINGS = {
    "TITLE": "Key Project Scheduling and Supervision Platform API",
    "DESCRIPTION": "REST API of the county key-project tracker. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Government intranets have no internet: Swagger UI is served from our static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models share field names ("kind", "source", "stage"): one enum name per choice set.
    "ENUM_NAME_OVERRIDES": {
        "UnitKindEnum": "projects.models.UnitKind",
        "ProjectKindEnum": "projects.models.ProjectKind",
        "MilestoneKindEnum": "projects.models.MilestoneKind",
        "InvestmentSourceEnum": "projects.models.Source",
        "FundingSourceEnum": "projects.models.FundingSource",
        "StageEnum": "projects.models.Stage",
        "PeriodKindEnum": "tracker.periods.PERIOD_KIND_CHOICES",
        "RankingStatusEnum": "supervision.models.SnapshotStatus",
        "FundingApplicationStatusEnum": "projects.models.ApplicationStatus",
        "TombstoneReasonEnum": "projects.models.TombstoneReason",
        "AlertLevelEnum": "supervision.models.AlertLevel",
        "ProjectLevelEnum": "projects.models.ProjectLevel",
        "ProjectCategoryEnum": "projects.models.Category",
        "IssueCategoryEnum": "supervision.models.IssueCategory",
        "IssueSourceEnum": "supervision.models.IssueSource",
        "IssueStatusEnum": "supervision.models.IssueStatus",
        "EscalationLevelEnum": "supervision.models.EscalationLevel",
        "IssueEventKindEnum": "supervision.models.IssueEventKind",
        "ExtensionStatusEnum": "supervision.models.ExtensionStatus",
        "InspectionKindEnum": "supervision.models.InspectionKind",
        "MeetingKindEnum": "supervision.models.MeetingKind",
        "NoticeKindEnum": "supervision.models.NoticeKind",
        "NoticeStatusEnum": "supervision.models.NoticeStatus",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
}
