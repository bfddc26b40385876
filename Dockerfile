# vosadmin: one image for the console (web), Celery worker and beat, and the SIP engine.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VOSADMIN_VAR_DIR=/var/lib/vosadmin

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY vosadmin vosadmin
COPY softswitch softswitch
COPY billing billing
COPY blacklist blacklist
COPY templates templates
COPY static static
COPY manage.py ./

RUN pip install -c constraints.txt . \
    && useradd --system --home /var/lib/vosadmin vosadmin \
    && mkdir -p /var/lib/vosadmin \
    && SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && chown -R vosadmin /var/lib/vosadmin

USER vosadmin
EXPOSE 8000 5060/udp 5060/tcp
CMD ["python", "-m", "vosadmin.serve", "-b", "0.0.0.0", "-p", "8000", "vosadmin.asgi:application"]
