"""A small threaded WSGI server for Keystone and Glance in the suites.

Run: ``python -m tests.services.wsgi MODULE:ATTR PORT``.

NOTE: measured here (DESIGN.md section 6): uWSGI's ``--http-socket``
dropped connections under tempest ("Remote end closed connection without
response"); a threaded server from the standard library did not. Each
request gets its own thread; the application's module is imported once,
before the port opens, so a failing import exits before anyone connects.
"""

import importlib
import socketserver
import sys
from wsgiref import simple_server


class ThreadingWSGIServer(socketserver.ThreadingMixIn,
                          simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class QuietHandler(simple_server.WSGIRequestHandler):
    def address_string(self):
        return self.client_address[0]


def load(spec: str):
    module, _, attr = spec.partition(':')
    app = getattr(importlib.import_module(module), attr or 'application')
    if app is None:
        raise SystemExit('%s is None after import' % spec)
    return app


def serve(spec: str, port: int, host: str = '127.0.0.1') -> None:
    app = load(spec)
    server = simple_server.make_server(host, port, app,
                                       server_class=ThreadingWSGIServer,
                                       handler_class=QuietHandler)
    print('serving %s on http://%s:%d' % (spec, host, port), flush=True)
    server.serve_forever()


if __name__ == '__main__':
    spec, port = sys.argv[1], int(sys.argv[2])
    # NOTE: Keystone's and Glance's applications parse sys.argv as their
    # own command line when they are imported.
    del sys.argv[1:]
    serve(spec, port)
