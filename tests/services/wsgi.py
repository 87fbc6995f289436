# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""A small threaded WSGI server for Keystone and Glance in the suites.

Run: ``python -m tests.services.wsgi MODULE:ATTR PORT``.

NOTE: measured here (doc/source/design.rst, "Testing on these
machines"): uWSGI's ``--http-socket``
dropped connections under tempest ("Remote end closed connection without
response"); a threaded server from the standard library did not. wsgiref
does not decode chunked request bodies, which glanceclient sends for image
uploads (Glance then fails with "Size exceeds"), so ``Dechunk`` decodes
them. The application's module is imported before the port opens, so a
failing import exits before anyone connects.
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


class ChunkedInput(object):
    """``wsgi.input`` of a ``Transfer-Encoding: chunked`` request body."""

    def __init__(self, raw):
        self.raw = raw
        self.left = 0
        self.done = False

    def _next_chunk(self):
        line = self.raw.readline(65537)
        size = int(line.split(b';', 1)[0].strip() or b'0', 16)
        if size == 0:
            # Trailers, then the empty line that ends the body.
            while self.raw.readline(65537) not in (b'\r\n', b'\n', b''):
                pass
            self.done = True
        self.left = size

    def read(self, size=-1):
        out = []
        while not self.done and (size is None or size < 0 or size > 0):
            if not self.left:
                self._next_chunk()
                continue
            want = self.left if size is None or size < 0 else min(
                size, self.left)
            data = self.raw.read(want)
            if not data:
                raise IOError('chunked body ended early')
            out.append(data)
            self.left -= len(data)
            if size is not None and size >= 0:
                size -= len(data)
            if not self.left:
                self.raw.readline(3)   # the CRLF after each chunk
        return b''.join(out)

    def readline(self, size=-1):
        return self.read(size if size and size > 0 else 65536)


def dechunk(app):
    def wrapper(environ, start_response):
        if environ.get('HTTP_TRANSFER_ENCODING', '').lower() == 'chunked':
            environ['wsgi.input'] = ChunkedInput(environ['wsgi.input'])
            environ.pop('CONTENT_LENGTH', None)
        return app(environ, start_response)
    return wrapper


def load(spec: str):
    module, _, attr = spec.partition(':')
    app = getattr(importlib.import_module(module), attr or 'application')
    if app is None:
        raise SystemExit('%s is None after import' % spec)
    return app


def serve(spec: str, port: int, host: str = '127.0.0.1') -> None:
    server = simple_server.make_server(host, port, dechunk(load(spec)),
                                       server_class=ThreadingWSGIServer)
    print('serving %s on http://%s:%d' % (spec, host, port), flush=True)
    server.serve_forever()


if __name__ == '__main__':
    spec, port = sys.argv[1], int(sys.argv[2])
    # NOTE: Keystone's and Glance's applications parse sys.argv as their
    # own command line when they are imported.
    del sys.argv[1:]
    serve(spec, port)
