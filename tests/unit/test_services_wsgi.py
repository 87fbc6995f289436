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

"""The suites' WSGI server decodes chunked request bodies (Glance uploads).

Served for real on 127.0.0.1 and sent to with http.client, as glanceclient
sends an image: ``Transfer-Encoding: chunked``.
"""

import hashlib
import http.client
import os
import threading

from wsgiref import simple_server

from tests.services import wsgi


def _echo_sha(environ, start_response):
    # As WSGI wants: read CONTENT_LENGTH bytes, or to the end of a
    # decoded chunked body (which has no length).
    length = environ.get('CONTENT_LENGTH')
    body = environ['wsgi.input'].read(int(length) if length else -1)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%d %s' % (len(body), hashlib.sha256(body).hexdigest()))
            .encode()]


def _serve():
    server = simple_server.make_server(
        '127.0.0.1', 0, wsgi.dechunk(_echo_sha),
        server_class=wsgi.ThreadingWSGIServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _post(port, chunks):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    conn.request('PUT', '/', body=iter(chunks), encode_chunked=True,
                 headers={'Transfer-Encoding': 'chunked'})
    return conn.getresponse().read().decode()


def test_chunked_body_arrives_whole():
    server = _serve()
    try:
        chunks = [os.urandom(n) for n in (1, 65536, 3 * 65536 + 7, 10)]
        data = b''.join(chunks)
        got = _post(server.server_address[1], chunks)
        assert got == '%d %s' % (len(data), hashlib.sha256(data).hexdigest())
    finally:
        server.shutdown()


def test_plain_body_is_untouched():
    server = _serve()
    try:
        conn = http.client.HTTPConnection('127.0.0.1',
                                          server.server_address[1])
        conn.request('PUT', '/', body=b'abc')
        got = conn.getresponse().read().decode()
        assert got == '3 %s' % hashlib.sha256(b'abc').hexdigest()
    finally:
        server.shutdown()
