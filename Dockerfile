# Production image: gunicorn for the web, the same image for the Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 tracker
WORKDIR /app

COPY pyproject.toml ./
COPY tracker ./tracker
COPY projects ./projects
COPY supervision ./supervision
RUN pip install .
COPY . .
# Build-time settings only for compilemessages and collectstatic; the real ones come at run time.
RUN DEBUG=1 python manage.py compilemessages -l zh_Hans -v 0 \
    && DEBUG=1 STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput -v 0 \
    && chown -R tracker /app
USER tracker
EXPOSE 8000
CMD ["gunicorn", "tracker.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
