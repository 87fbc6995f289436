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

"""Keystone and Glance for the services suites, on 127.0.0.1.

Both are the PyPI packages in the venv, served by ``tests.services.wsgi``
(a threaded WSGI server: see its NOTE on uWSGI), with their databases on
the suite's MariaDB. ``Stack(keystone=True, glance=True)`` uses them; so can
any other suite::

    from tests.services import stack
    with stack.Stack(None, cinder=False, keystone=True) as s:
        s.keystone.url, s.keystone.admin   # http://127.0.0.1:P/v3, creds

``Keystone.start`` runs ``keystone-manage db_sync``, ``fernet_setup``,
``credential_setup`` and ``bootstrap`` (admin user, project and role, the
identity endpoint), then adds the ``service`` project, one service user per
service with the ``admin`` and ``service`` roles, and the catalog entries
it is given (``block-storage``/``volumev3``, ``image``).
"""

import os
import shutil
import sys

REGION = 'RegionOne'
DOMAIN = 'Default'
ADMIN_PASSWORD = 'cslvm-admin-secret'
SERVICE_PASSWORD = 'cslvm-service-secret'
VENV_BIN = os.path.dirname(os.path.abspath(sys.executable))


def write_ini(path: str, conf: dict) -> None:
    with open(path, 'w') as f:
        for section, values in conf.items():
            f.write('[%s]\n' % section)
            for key, value in values.items():
                f.write('%s = %s\n' % (key, value))
            f.write('\n')


def authtoken_section(keystone, username: str) -> dict:
    """``[keystone_authtoken]`` of a service that validates tokens."""
    return {'www_authenticate_uri': keystone.url,
            'auth_url': keystone.url,
            'auth_type': 'password',
            'project_domain_name': DOMAIN,
            'user_domain_name': DOMAIN,
            'project_name': 'service',
            'username': username,
            'password': SERVICE_PASSWORD,
            'region_name': REGION}


class Keystone(object):
    """Keystone on ``port``, its database at ``db_url``.

    :param procs: the owner's process helper (``Stack``): ``dir``,
                  ``_spawn``, ``_run``, ``progress``, ``wait_http``
    """

    def __init__(self, procs, db_url: str, port: int):
        self.procs = procs
        self.db_url = db_url
        self.port = port
        self.dir = os.path.join(procs.dir, 'keystone')
        self.conf_file = os.path.join(self.dir, 'keystone.conf')

    @property
    def url(self) -> str:
        return 'http://127.0.0.1:%d/v3' % self.port

    @property
    def admin(self) -> dict:
        """keystoneauth password-plugin arguments of the cloud admin."""
        return {'auth_url': self.url, 'username': 'admin',
                'password': ADMIN_PASSWORD, 'project_name': 'admin',
                'user_domain_name': DOMAIN, 'project_domain_name': DOMAIN}

    def os_env(self) -> dict:
        """``OS_*`` variables of the admin for the OpenStack CLIs."""
        return {'OS_AUTH_TYPE': 'password', 'OS_AUTH_URL': self.url,
                'OS_USERNAME': 'admin', 'OS_PASSWORD': ADMIN_PASSWORD,
                'OS_PROJECT_NAME': 'admin', 'OS_USER_DOMAIN_NAME': DOMAIN,
                'OS_PROJECT_DOMAIN_NAME': DOMAIN, 'OS_REGION_NAME': REGION,
                'OS_INTERFACE': 'public', 'OS_IDENTITY_API_VERSION': '3'}

    def _manage(self, *args, timeout=300):
        return self.procs._run(
            [os.path.join(VENV_BIN, 'keystone-manage'), '--config-file',
             self.conf_file] + list(args),
            'keystone-manage %s' % args[0], timeout=timeout)

    def start(self, endpoints=()) -> 'Keystone':
        """Set up and serve Keystone, then register *endpoints*.

        :param endpoints: (service type, service name, URL) triples
        """
        keys = os.path.join(self.dir, 'fernet-keys')
        creds = os.path.join(self.dir, 'credential-keys')
        for d in (self.dir, keys, creds):
            os.makedirs(d, exist_ok=True)
        write_ini(self.conf_file, {
            'DEFAULT': {'debug': 'false',
                        'log_file': os.path.join(self.procs.dir,
                                                 'keystone.log')},
            'database': {'connection': self.db_url},
            'token': {'provider': 'fernet'},
            'fernet_tokens': {'key_repository': keys},
            'fernet_receipts': {'key_repository': keys},
            'credential': {'key_repository': creds},
            # NOTE: bcrypt's default cost made each token request take
            # about a second on the loaded 2-core machine; tempest makes
            # hundreds. A test cloud's passwords need no strong hashing.
            'identity': {'password_hash_rounds': 4},
        })
        self._manage('db_sync')
        self._manage('fernet_setup', '--keystone-user', 'root',
                     '--keystone-group', 'root')
        self._manage('credential_setup', '--keystone-user', 'root',
                     '--keystone-group', 'root')
        self._manage('bootstrap', '--bootstrap-password', ADMIN_PASSWORD,
                     '--bootstrap-username', 'admin',
                     '--bootstrap-project-name', 'admin',
                     '--bootstrap-role-name', 'admin',
                     '--bootstrap-service-name', 'keystone',
                     '--bootstrap-region-id', REGION,
                     '--bootstrap-admin-url', self.url,
                     '--bootstrap-internal-url', self.url,
                     '--bootstrap-public-url', self.url)
        proc = self.procs._spawn(
            'keystone', [sys.executable, '-m', 'tests.services.wsgi',
                         'keystone.wsgi.api:application', str(self.port)],
            env={'OS_KEYSTONE_CONFIG_FILES': self.conf_file})
        self.procs.wait_http('keystone', self.url, proc)
        self.register(endpoints)
        return self

    def session(self, **auth):
        from keystoneauth1.identity import v3
        from keystoneauth1 import session
        return session.Session(auth=v3.Password(**(auth or self.admin)))

    def register(self, endpoints) -> None:
        """The service project, service users and catalog entries."""
        from keystoneclient.v3 import client
        ks = client.Client(session=self.session(), interface='public')
        project = ks.projects.create('service', 'default',
                                     description='service users')
        roles = {r.name: r for r in ks.roles.list()}
        if 'service' not in roles:
            roles['service'] = ks.roles.create('service')
        for user in sorted({name for _type, name, _url in endpoints}):
            u = ks.users.create(user, domain='default',
                                password=SERVICE_PASSWORD,
                                default_project=project)
            for role in ('admin', 'service'):
                ks.roles.grant(roles[role], user=u, project=project)
        for stype, name, url in endpoints:
            svc = ks.services.create(name, type=stype)
            for interface in ('public', 'internal', 'admin'):
                ks.endpoints.create(svc, url, interface=interface,
                                    region=REGION)


class Glance(object):
    """glance-api on ``port`` with the file store in the stack's directory.

    :param procs: the owner's process helper (see ``Keystone``)
    """

    def __init__(self, procs, db_url: str, port: int, keystone: Keystone):
        self.procs = procs
        self.db_url = db_url
        self.port = port
        self.keystone = keystone
        self.dir = os.path.join(procs.dir, 'glance')
        self.conf_file = os.path.join(self.dir, 'glance-api.conf')
        self.store = os.path.join(self.dir, 'images')

    @property
    def url(self) -> str:
        return 'http://127.0.0.1:%d' % self.port

    def start(self) -> 'Glance':
        staging = os.path.join(self.dir, 'staging')
        tasks = os.path.join(self.dir, 'tasks')
        for d in (self.dir, self.store, staging, tasks):
            os.makedirs(d, exist_ok=True)
        # NOTE: glance-api reads glance-api-paste.ini from its config
        # directory (OS_GLANCE_CONFIG_DIR), next to glance-api.conf.
        source = os.path.join(sys.prefix, 'etc', 'glance',
                              'glance-api-paste.ini')
        if not os.path.exists(source):
            raise RuntimeError('%s is missing (glance wheel)' % source)
        paste = os.path.join(self.dir, 'glance-api-paste.ini')
        shutil.copyfile(source, paste)
        write_ini(self.conf_file, {
            'DEFAULT': {'debug': 'false',
                        'log_file': os.path.join(self.procs.dir,
                                                 'glance-api.log'),
                        'enabled_backends': 'fs:file',
                        'worker_self_reference_url': self.url,
                        'image_size_cap': 4 * 1024 ** 3},
            'database': {'connection': self.db_url},
            'glance_store': {'default_backend': 'fs'},
            'fs': {'filesystem_store_datadir': self.store},
            'os_glance_staging_store': {'filesystem_store_datadir': staging},
            'os_glance_tasks_store': {'filesystem_store_datadir': tasks},
            'keystone_authtoken': authtoken_section(self.keystone, 'glance'),
            'paste_deploy': {'flavor': 'keystone', 'config_file': paste},
            'oslo_concurrency': {'lock_path': os.path.join(self.dir,
                                                           'locks')},
        })
        self.procs._run([os.path.join(VENV_BIN, 'glance-manage'),
                         '--config-file', self.conf_file, 'db_sync'],
                        'glance-manage db_sync', timeout=600)
        proc = self.procs._spawn(
            'glance-api', [sys.executable, '-m', 'tests.services.wsgi',
                           'glance.wsgi.api:application', str(self.port)],
            env={'OS_GLANCE_CONFIG_DIR': self.dir})
        self.procs.wait_http('glance-api', self.url + '/healthcheck', proc)
        return self
