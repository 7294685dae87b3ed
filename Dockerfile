# The botify recommendation service: `botify serve` under gunicorn, all state in Redis.
#
#   docker build -t botify .
#   docker run -e BOTIFY_REDIS_URL=redis://:PASSWORD@HOST:6379/0 -p 5001:5000 botify
#
# docker-compose.yml runs it behind nginx with Redis and a one-shot loader (README.md, "Deploy with docker compose").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The pinned runtime set first, in its own layer: code changes do not reinstall it.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# The service package and the `botify` command's dispatcher (lab/, whose other commands need the
# sim and offline extras and say so), no sim, offline or dev tools. --no-deps keeps the pinned set as is;
# pip check fails the build if pyproject.toml needs something requirements.txt does not pin.
# Built outside /app so that only the installed copy is importable. The last check fails the
# build if the service or its gunicorn worker class (gevent, whose own needs are an extra that
# pip check does not see) cannot be imported with the pinned set alone.
COPY pyproject.toml README.md /tmp/botify-src/
COPY botify /tmp/botify-src/botify
COPY lab /tmp/botify-src/lab
RUN pip install --no-deps /tmp/botify-src \
    && pip check \
    && rm -rf /tmp/botify-src \
    && python -c "import botify.app, botify.serve, lab.cli, gunicorn.workers.ggevent"

COPY config.json ./config.json
COPY deploy/entrypoint.sh /usr/local/bin/botify-entrypoint

# A non-root user owns the log folder; a named volume mounted there starts with this ownership.
RUN useradd --system --uid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin botify \
    && mkdir -p /app/log \
    && chown botify:botify /app/log \
    && chmod 0755 /usr/local/bin/botify-entrypoint
USER botify

# Redis is never embedded here: the entry point refuses to start without BOTIFY_REDIS_URL.
# Each container logs to /app/log/<hostname>/events.jsonl (see deploy/entrypoint.sh); compose
# mounts a named volume there, which Docker first fills with this folder and its ownership.
# (No VOLUME instruction: the one-shot loader would leave an anonymous volume behind each run.)
# PYTHONPATH: a recommender module mounted or copied into /app is importable by its path in
# config.json (README.md, "Deploy with docker compose").
ENV BOTIFY_LOG_DIR=/app/log \
    PYTHONPATH=/app
EXPOSE 5000

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/healthz', timeout=2)"]

ENTRYPOINT ["botify-entrypoint"]
CMD ["--config", "/app/config.json", "--host", "0.0.0.0", "--port", "5000", "--workers", "2"]
