"""moto's server with request handling serialized.

moto_server answers each request on its own thread without locking its backends, so two conditional writes to
the same DynamoDB item can both succeed (seen here: two concurrent claims of one job both won). Real DynamoDB
applies conditional writes atomically per item. Handling one request at a time restores that guarantee, which
the bot's idempotency (job claims, link claims, approvals) relies on. Connections are still accepted in parallel.

Usage: python3 moto-serial.py HOST PORT
"""
import sys
import threading

try:
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple
except ImportError:
    sys.stderr.write("moto is not installed. Install it with: pip install 'moto[server]'\n")
    sys.exit(3)

host, port = sys.argv[1], int(sys.argv[2])
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serialized(environ, start_response):
    with lock:
        # Build the whole body inside the lock: the backend works while the response iterates.
        return list(app(environ, start_response))


run_simple(host, port, serialized, threaded=True, use_reloader=False)
