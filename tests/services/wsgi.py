"""A threaded WSGI server for Keystone and Glance in the suites.

Run: ``python -m tests.services.wsgi MODULE:ATTR PORT``.

NOTE: measured here (DESIGN.md section 6): uWSGI's ``--http-socket``
dropped connections under tempest ("Remote end closed connection without
response"). The standard library's wsgiref does not decode chunked request
bodies, which glanceclient sends for image uploads (Glance then fails with
"Size exceeds"). cheroot, CherryPy's threaded HTTP/1.1 server, does both
right. The application's module is imported before the port opens, so a
failing import exits before anyone connects.
"""

import importlib
import sys

from cheroot import wsgi


def load(spec: str):
    module, _, attr = spec.partition(':')
    app = getattr(importlib.import_module(module), attr or 'application')
    if app is None:
        raise SystemExit('%s is None after import' % spec)
    return app


def serve(spec: str, port: int, host: str = '127.0.0.1',
          threads: int = 16) -> None:
    server = wsgi.Server((host, port), load(spec), numthreads=threads,
                         request_queue_size=64, timeout=300)
    print('serving %s on http://%s:%d' % (spec, host, port), flush=True)
    try:
        server.start()
    finally:
        server.stop()


if __name__ == '__main__':
    spec, port = sys.argv[1], int(sys.argv[2])
    # NOTE: Keystone's and Glance's applications parse sys.argv as their
    # own command line when they are imported.
    del sys.argv[1:]
    serve(spec, port)
