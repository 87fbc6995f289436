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

"""A one-member etcd on 127.0.0.1, started and stopped by the tests.

Debian's ``etcd-server`` (tests/etcd/apt-packages.txt), reached the way
Cinder reaches it: tooz's ``etcd3+http://`` driver, which needs the
``etcd3gw`` client (test-requirements.txt). Its data directory survives a
stop, so a restart is the same cluster with the same keys and leases.
"""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request

ETCD = shutil.which('etcd') or '/usr/bin/etcd'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def skip_reason():
    if not os.access(ETCD, os.X_OK):
        return 'no etcd: run tools/setup-env.sh (Debian package etcd-server)'
    try:
        import etcd3gw  # noqa: F401
    except ImportError:
        return 'no etcd3gw in the venv: run tools/setup-env.sh'
    return None


class EtcdServer(object):
    """``etcd`` on free 127.0.0.1 ports, its data under *workdir*."""

    def __init__(self, workdir: str):
        self.workdir = workdir
        self.client_port, self.peer_port = free_port(), free_port()
        self.proc = None
        self.log_path = os.path.join(workdir, 'etcd.log')

    @property
    def client_url(self) -> str:
        return 'http://127.0.0.1:%d' % self.client_port

    def backend_url(self, **options) -> str:
        """tooz's URL, with its options (timeout, lock_timeout...)."""
        query = '&'.join('%s=%s' % kv for kv in sorted(options.items()))
        return 'etcd3+%s%s' % (self.client_url,
                               '?' + query if query else '')

    def start(self, timeout: float = 30) -> float:
        """Start (or restart) etcd; seconds until it reports healthy."""
        peer = 'http://127.0.0.1:%d' % self.peer_port
        started = time.monotonic()
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen(
                [ETCD, '--name', 'cslvm',
                 '--data-dir', os.path.join(self.workdir, 'data'),
                 '--listen-client-urls', self.client_url,
                 '--advertise-client-urls', self.client_url,
                 '--listen-peer-urls', peer,
                 '--initial-advertise-peer-urls', peer,
                 '--initial-cluster', 'cslvm=' + peer],
                stdout=log, stderr=subprocess.STDOUT)
        while not self.healthy():
            if self.proc.poll() is not None or \
                    time.monotonic() - started > timeout:
                self.stop()
                raise RuntimeError('etcd did not start; see %s:\n%s' % (
                    self.log_path, self.log_tail()))
            time.sleep(0.2)
        return time.monotonic() - started

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.client_url + '/health',
                                        timeout=2) as reply:
                return json.load(reply).get('health') == 'true'
        except OSError:
            return False

    def stop(self) -> None:
        """Kill etcd (SIGKILL: an outage, not a clean shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self.proc = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_path, errors='replace') as log:
                return ''.join(log.readlines()[-lines:])
        except OSError:
            return ''
