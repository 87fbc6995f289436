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

"""Django settings of the Horizon under test: Horizon's own, plus the
stack's Keystone, and nothing that needs memcached or a database."""

import os

from openstack_dashboard.settings import *  # noqa: F401,F403

_DIR = os.environ['CSLVM_HORIZON_DIR']

DEBUG = True
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
SECRET_KEY = 'cslvm-horizon-test-only'
OPENSTACK_KEYSTONE_URL = os.environ['CSLVM_KEYSTONE_URL']
OPENSTACK_KEYSTONE_DEFAULT_DOMAIN = 'Default'
OPENSTACK_KEYSTONE_DEFAULT_ROLE = 'member'
OPENSTACK_API_VERSIONS = {'identity': 3, 'volume': 3}
# Sessions in signed cookies and a process-local cache: no memcached.
SESSION_ENGINE = 'django.contrib.sessions.backends.signed_cookies'
CACHES = {'default': {
    'BACKEND': 'django.core.cache.backends.locmem.LocMemCache'}}
# Compress on the fly into the test's own directory.
COMPRESS_OFFLINE = False
STATIC_ROOT = os.path.join(_DIR, 'static')
COMPRESS_ROOT = STATIC_ROOT
LOGGING = {'version': 1, 'disable_existing_loggers': False,
           'handlers': {'console': {'class': 'logging.StreamHandler'}},
           'root': {'handlers': ['console'], 'level': 'INFO'}}
