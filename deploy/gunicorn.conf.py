"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py 'wsgi:app'`.

Every value can be changed with an environment variable of the same name in upper case, prefixed
`GUNICORN_` (for example GUNICORN_WORKERS=4). Two threads let a worker go on while a request waits for the
database; more threads only queue on the worker's one Python interpreter lock (see docs/deploy.md). The app
keeps one database transaction per request, so a killed worker loses only its in-flight request, which the
tablet retries with the same idempotency key.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new connections over
# them. On one shared socket the worker that wakes first accepts every connection it can, so the keep-alive
# clients pile up on one worker while the other waits.
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "1") != "0"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak in any library never grows without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# The app logs every request itself (structured, without query strings); gunicorn logs only its own events.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# nginx on the same host sets X-Forwarded-*; set SURVEY_PROXY_COUNT=1 for the app to trust it.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Each worker builds the app after the fork, so no database connection is shared between processes.
preload_app = False
