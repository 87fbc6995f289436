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

"""Horizon from PyPI, on 127.0.0.1, against a stack's Keystone.

Horizon and Playwright live in a venv of their own (``.venv-horizon``,
made by ``tools/horizon-test``): Horizon pins Django and its own client
libraries, and it talks to Keystone and Cinder over HTTP only, so it needs
nothing of the suite's venv. Django's development server serves it, with
``tests/services/horizon_settings.py`` on top of Horizon's settings.
"""

import os
import subprocess

from tests.services import stack as stackmod

REPO = stackmod.REPO
HORIZON_VENV = os.environ.get('CSLVM_HORIZON_VENV',
                              os.path.join(REPO, '.venv-horizon'))
HORIZON_PYTHON = os.path.join(HORIZON_VENV, 'bin', 'python')
CHROMIUM = '/usr/bin/chromium'


def skip_reason():
    if not os.path.exists(HORIZON_PYTHON):
        return 'no %s: run tools/horizon-test' % HORIZON_VENV
    if not os.path.exists(CHROMIUM):
        return 'no %s (Debian package chromium)' % CHROMIUM
    return None


class Horizon(object):
    """``django-admin runserver`` of openstack_dashboard on a free port.

    :param procs: the owning ``stack.Stack`` (its ``_spawn`` and ``dir``)
    :param keystone_url: ``http://127.0.0.1:P/v3``
    """

    def __init__(self, procs, keystone_url):
        self.procs = procs
        self.keystone_url = keystone_url
        self.port = stackmod.free_port()

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def env(self):
        return {'PATH': os.path.dirname(HORIZON_PYTHON) + os.pathsep +
                os.environ.get('PATH', ''),
                'PYTHONPATH': REPO,
                'DJANGO_SETTINGS_MODULE': 'tests.services.horizon_settings',
                'CSLVM_KEYSTONE_URL': self.keystone_url,
                'CSLVM_HORIZON_DIR': os.path.join(self.procs.dir, 'horizon')}

    def start(self):
        os.makedirs(os.path.join(self.procs.dir, 'horizon'), exist_ok=True)
        self.procs._spawn('horizon', [
            HORIZON_PYTHON, '-m', 'django', 'runserver', '--noreload',
            '--insecure',
            '127.0.0.1:%d' % self.port], env=self.env())
        self.procs.wait_http('horizon', self.url + '/auth/login/',
                             self.procs.procs['horizon'], timeout=300)
        return self

    def browse(self, out_dir, user, password, timeout=1200):
        """Run the browser steps (``horizon_browser``); their JSON report."""
        res = subprocess.run(
            [HORIZON_PYTHON, '-m', 'tests.services.horizon_browser',
             '--url', self.url, '--user', user, '--password', password,
             '--out', out_dir, '--chromium', CHROMIUM],
            capture_output=True, text=True, timeout=timeout,
            env=dict(os.environ, **self.env()), stdin=subprocess.DEVNULL)
        return res
