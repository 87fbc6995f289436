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

"""Real Cinder services around the rig, driven by the ``cinder`` CLI.

``Stack`` starts, on 127.0.0.1 only and without systemd:

* RabbitMQ from Debian's ``rabbitmq-server`` (its own epmd port, node name,
  Mnesia directory and cookie, so parallel stacks do not meet);
* MariaDB from Debian's ``mariadb-server`` (its own datadir and port,
  ``--skip-grant-tables``), or SQLite when MariaDB or PyMySQL is missing;
* ``cinder-api`` (noauth), ``cinder-scheduler`` and ``cinder-volume`` from
  the venv. ``cinder-volume`` loads ``SharedLVMDriver`` from cinder.conf
  and runs its host commands on the rig's ``cinder-node`` through
  ``shared_lvm_executor = rig.remote_execute.execute``.

``run_cli_lifecycle(rig_state_file, progress)`` is the demo's entry point:
it boots the stack, runs the CLI lifecycle (``lifecycle.py``) and tears
everything down again.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from tests.services import cloud

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VENV_BIN = os.path.dirname(os.path.abspath(sys.executable))
API_VERSION = '3.66'
PROJECT_ID = 'c0ffee00000000000000000000000001'
USER_ID = 'demo'
BACKEND = 'rig1'
VOLUME_HOST = 'cinder-node'
RABBIT_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server'
MARIADBD = '/usr/sbin/mariadbd'
MARIADB_INSTALL = '/usr/bin/mariadb-install-db'
SERVICES = ('cinder-api', 'cinder-scheduler', 'cinder-volume')
BACKUP_SERVICE = 'cinder-backup'


class StackError(Exception):
    pass


def skip_reason():
    """Why the services cannot run here, or None."""
    if os.geteuid() != 0:
        return 'the services suite needs root (the rig and the brokers)'
    if not os.path.exists(RABBIT_SERVER):
        return ('rabbitmq-server is missing: install '
                'tests/services/apt-packages.txt (tools/setup-env.sh)')
    for tool in ('cinder-api', 'cinder-volume', 'cinder-scheduler',
                 'cinder-manage', 'cinder'):
        if not os.path.exists(os.path.join(VENV_BIN, tool)):
            return '%s is missing from %s' % (tool, VENV_BIN)
    return None


def service_process_env(extra=None) -> dict:
    """The environment of a service process.

    NOTE: the test runner sets OS_CINDER_DISABLE_EVENTLET_PATCHING for its
    own in-process cinder; inherited by cinder-api it selects oslo.service's
    threading backend, whose WSGI server refuses to start (cinder 29).
    """
    env = dict(os.environ, **(extra or {}))
    env.pop('OS_CINDER_DISABLE_EVENTLET_PATCHING', None)
    # The services run from the stack's directory; ``python -m tests...``
    # (the WSGI server, the rig's cinder-backup) needs the repository.
    path = env.get('PYTHONPATH', '')
    if REPO not in path.split(os.pathsep):
        env['PYTHONPATH'] = REPO + (os.pathsep + path if path else '')
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for(what, probe, timeout, interval=0.5, proc=None):
    """Call *probe* until it returns a true value; raise after *timeout*."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise StackError('%s: the process exited with %s' % (
                what, proc.returncode))
        if time.monotonic() > deadline:
            raise StackError('%s: not ready after %ds' % (what, timeout))
        time.sleep(interval)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1):
            return True
    except OSError:
        return False


def api_paste_ini() -> str:
    """The api-paste.ini that the cinder wheel installs under the prefix."""
    path = os.path.join(sys.prefix, 'etc', 'cinder', 'api-paste.ini')
    if not os.path.exists(path):
        raise StackError('%s is missing (cinder wheel)' % path)
    return path


class Stack(object):
    """RabbitMQ, a database and Cinder's services for one rig.

    :param rig_state: the rig's state.json (``CSLVM_RIG_STATE``)
    :param vg: the shared VG the backend manages (made by the caller)
    :param db: 'mariadb', 'sqlite' or 'auto' (MariaDB when it can run)
    :param progress: callable for progress lines
    :param keystone: Keystone (``cloud.Keystone``) and
                     ``auth_strategy = keystone`` instead of noauth;
                     needs MariaDB (Keystone on SQLite returns "database
                     is locked" 500s under tempest, doc/source/design.rst,
                     "Testing on these machines")
    :param glance: Glance with the file store (``cloud.Glance``); needs
                   keystone
    :param backup: cinder-backup with the posix driver, launched by
                   ``tests.services.rig_backup`` (see doc/source/backup.rst)
    :param cinder: False starts only the database and Keystone/Glance
    :param pools: {VG: device}: the backend spans these VGs, one pool
                  each (``shared_lvm_volume_groups``), instead of *vg*
    :param cluster: ``[DEFAULT] cluster``: every cinder-volume service of
                    the stack joins this Cinder cluster
    :param volume_hosts: rig hosts that each run a cinder-volume service
                         (its ``host`` and its executor's host); the
                         first is ``cinder-volume``, the others
                         ``cinder-volume@<host>``
    :param coordination_url: ``[coordination] backend_url`` (default: a
                             file:// directory of the stack's own)
    """

    def __init__(self, rig_state, vg='svcvg', devices=('/dev/vda',),
                 db='auto', progress=None, workdir=None, keystone=False,
                 glance=False, backup=False, cinder=True, pools=None,
                 cluster=None, volume_hosts=(VOLUME_HOST,),
                 coordination_url=None):
        if glance and not keystone:
            raise StackError('Glance needs Keystone here')
        if keystone and db == 'sqlite':
            raise StackError('Keystone needs MariaDB here')
        self.rig_state = rig_state
        self.use_keystone = keystone
        self.use_glance = glance
        self.use_backup = backup
        self.use_cinder = cinder
        self.keystone = None
        self.glance = None
        self.vg = vg
        self.devices = list(devices)
        self.pools = dict(pools or {})
        self.cluster = cluster
        self.volume_hosts = list(volume_hosts)
        self.coordination_url = coordination_url
        self.db = 'mariadb' if keystone else db
        self.progress = progress or (lambda line: None)
        self.dir = workdir or tempfile.mkdtemp(prefix='cslvm-services-')
        self.procs = {}
        self.ports = {}
        self.conf_file = os.path.join(self.dir, 'cinder.conf')
        self.db_url = None
        self.db_kind = None
        self.timings = {}
        self.extra_dirs = []

    # -- lifecycle -----------------------------------------------------------

    def start(self):
        t0 = time.monotonic()
        try:
            self.ports['api'] = free_port()
            if self.use_cinder:
                self._start_rabbit()
            self._start_db()
            if self.use_keystone:
                self._start_keystone()
            if not self.use_cinder:
                return self
            self._write_conf()
            self._run([os.path.join(VENV_BIN, 'cinder-manage'),
                       '--config-file', self.conf_file, 'db', 'sync'],
                      'cinder-manage db sync', timeout=600)
            for name in self.services:
                self._start_service(name)
            self._wait_ready()
        except Exception:
            self.stop()
            raise
        self.timings['start'] = time.monotonic() - t0
        self.progress('services up in %.0fs (db: %s)' % (
            self.timings['start'], self.db_kind))
        return self

    def stop(self):
        """Stop every process this stack started, newest first, by pid."""
        for name in reversed(list(self.procs)):
            proc = self.procs.pop(name)
            if proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    @property
    def services(self) -> tuple:
        return SERVICES + tuple(
            'cinder-volume@' + host for host in self.volume_hosts[1:]) + (
            (BACKUP_SERVICE,) if self.use_backup else ())

    def volume_service(self, host: str) -> str:
        """The stack's name of the cinder-volume service on *host*."""
        return ('cinder-volume' if host == self.volume_hosts[0]
                else 'cinder-volume@' + host)

    def kill(self, name: str) -> None:
        """SIGKILL a service's whole process group, as a crash would."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def restart(self, name: str) -> None:
        """Start a service that was killed or stopped again."""
        self._start_service(name)

    def cleanup(self):
        self.stop()
        if not os.environ.get('CSLVM_KEEP_SERVICES_DIR'):
            for path in [self.dir] + self.extra_dirs:
                shutil.rmtree(path, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # -- processes -----------------------------------------------------------

    def _log(self, name):
        return open(os.path.join(self.dir, '%s.log' % name), 'ab')

    def _spawn(self, name, argv, env=None):
        log = self._log(name)
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, cwd=self.dir,
            env=service_process_env(env), start_new_session=True)
        log.close()
        self.procs[name] = proc
        return proc

    def _run(self, argv, what, timeout=120, env=None):
        t0 = time.monotonic()
        res = subprocess.run(argv, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=timeout,
                             cwd=self.dir, env=service_process_env(env))
        if res.returncode:
            raise StackError('%s failed (rc %d): %s%s' % (
                what, res.returncode, res.stdout[-2000:], res.stderr[-2000:]))
        self.timings[what] = time.monotonic() - t0
        return res

    def tail(self, name, lines=40) -> str:
        try:
            with open(os.path.join(self.dir, '%s.log' % name), 'rb') as f:
                data = f.read().decode('utf-8', 'replace')
        except OSError:
            return ''
        return '\n'.join(data.splitlines()[-lines:])

    # -- RabbitMQ ------------------------------------------------------------

    def _start_rabbit(self):
        t0 = time.monotonic()
        port, dist, epmd = free_port(), free_port(), free_port()
        self.ports.update(rabbit=port, epmd=epmd)
        home = os.path.join(self.dir, 'rabbit')
        os.makedirs(os.path.join(home, 'mnesia'))
        os.makedirs(os.path.join(home, 'log'))
        for name in ('enabled_plugins', 'rabbitmq-env.conf'):
            with open(os.path.join(home, name), 'w') as f:
                f.write('[].\n' if name == 'enabled_plugins' else '')
        with open(os.path.join(home, 'rabbitmq.conf'), 'w') as f:
            f.write('listeners.tcp.1 = 127.0.0.1:%d\n'
                    'loopback_users.guest = true\n' % port)
        env = {'HOME': home,
               'ERL_EPMD_PORT': str(epmd),
               'ERL_EPMD_ADDRESS': '127.0.0.1',
               'RABBITMQ_NODENAME': 'cslvm%d@localhost' % port,
               'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
               'RABBITMQ_NODE_PORT': str(port),
               'RABBITMQ_DIST_PORT': str(dist),
               'RABBITMQ_MNESIA_BASE': os.path.join(home, 'mnesia'),
               'RABBITMQ_LOG_BASE': os.path.join(home, 'log'),
               'RABBITMQ_CONFIG_FILE': os.path.join(home, 'rabbitmq.conf'),
               'RABBITMQ_CONF_ENV_FILE': os.path.join(home,
                                                      'rabbitmq-env.conf'),
               'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(
                   home, 'enabled_plugins'),
               'RABBITMQ_PID_FILE': os.path.join(home, 'rabbit.pid')}
        # NOTE: epmd runs in the foreground as our child, so that it stops
        # with the stack instead of outliving it as a -daemon would.
        self._spawn('epmd', ['epmd', '-port', str(epmd), '-address',
                             '127.0.0.1'], env=env)
        wait_for('epmd', lambda: port_open(epmd), 20, 0.2,
                 proc=self.procs['epmd'])
        proc = self._spawn('rabbitmq', [RABBIT_SERVER], env=env)
        wait_for('rabbitmq-server on 127.0.0.1:%d' % port,
                 lambda: port_open(port), 120, proc=proc)
        self.timings['rabbitmq'] = time.monotonic() - t0
        self.progress('rabbitmq-server listening on 127.0.0.1:%d (%.1fs)' % (
            port, self.timings['rabbitmq']))

    # -- database ------------------------------------------------------------

    def _mariadb_reason(self):
        if not os.path.exists(MARIADBD):
            return 'mariadb-server is not installed'
        try:
            import pymysql  # noqa: F401
        except ImportError:
            return 'PyMySQL is not installed in the venv'
        return None

    def _start_db(self):
        reason = self._mariadb_reason() if self.db != 'sqlite' else 'asked'
        if reason and self.db == 'mariadb':
            raise StackError('MariaDB cannot run: %s' % reason)
        if reason:
            self.db_kind = 'sqlite'
            self.db_url = 'sqlite:///%s' % os.path.join(self.dir,
                                                        'cinder.sqlite')
            self.progress('database: SQLite (%s)' % reason)
            return
        t0 = time.monotonic()
        data = os.path.join(self.dir, 'mysql')
        sock = os.path.join(self.dir, 'mysql.sock')
        port = free_port()
        self.ports['mariadb'] = port
        installer = MARIADB_INSTALL if os.path.exists(MARIADB_INSTALL) \
            else 'mysql_install_db'
        self._run([installer, '--no-defaults', '--datadir=%s' % data,
                   '--user=root', '--auth-root-authentication-method=normal',
                   '--skip-test-db'], 'mariadb-install-db', timeout=300)
        proc = self._spawn('mariadb', [
            MARIADBD, '--no-defaults', '--datadir=%s' % data,
            '--socket=%s' % sock, '--port=%d' % port,
            '--bind-address=127.0.0.1', '--user=root',
            '--skip-grant-tables', '--skip-log-bin',
            '--pid-file=%s' % os.path.join(self.dir, 'mariadb.pid'),
            '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M',
            '--max-connections=200',
            '--log-error=%s' % os.path.join(self.dir, 'mariadb-error.log')])
        wait_for('mariadbd on 127.0.0.1:%d' % port, lambda: port_open(port),
                 120, proc=proc)
        self.db_kind = 'mariadb'
        self.db_url = self.create_database('cinder')
        self.timings['mariadb'] = time.monotonic() - t0
        self.progress('database: MariaDB on 127.0.0.1:%d (%.1fs)' % (
            port, self.timings['mariadb']))

    def create_database(self, name: str) -> str:
        """Create database *name* on the stack's MariaDB; its URL."""
        import pymysql
        port = self.ports['mariadb']
        conn = pymysql.connect(host='127.0.0.1', port=port, user='root')
        with conn.cursor() as cur:
            cur.execute('CREATE DATABASE IF NOT EXISTS `%s` '
                        'CHARACTER SET utf8mb4' % name)
        conn.close()
        return ('mysql+pymysql://root@127.0.0.1:%d/%s?charset=utf8' % (
            port, name))

    # -- Keystone and Glance -------------------------------------------------

    def wait_http(self, what, url, proc, timeout=180):
        """Wait until *url* answers HTTP at all (any status)."""
        import urllib.error
        import urllib.request

        def answers():
            try:
                urllib.request.urlopen(url, timeout=5).close()
            except urllib.error.HTTPError:
                return True
            except OSError:
                return False
            return True
        try:
            wait_for('%s at %s' % (what, url), answers, timeout, proc=proc)
        except StackError as err:
            raise StackError('%s\n%s' % (err, self.tail(what)))

    def _start_keystone(self):
        t0 = time.monotonic()
        endpoints = []
        if self.use_cinder:
            # NOTE: cinderclient looks the API up as volumev3, tempest 47
            # as block-storage; both name the same v3 API.
            endpoints += [('block-storage', 'cinder', self.endpoint),
                          ('volumev3', 'cinderv3', self.endpoint)]
        if self.use_glance:
            self.ports['glance'] = free_port()
            endpoints.append(('image', 'glance', 'http://127.0.0.1:%d' %
                              self.ports['glance']))
        self.ports['keystone'] = free_port()
        self.keystone = cloud.Keystone(
            self, self.create_database('keystone'), self.ports['keystone'])
        self.keystone.start(endpoints)
        self.timings['keystone'] = time.monotonic() - t0
        self.progress('keystone on %s (%.0fs)' % (self.keystone.url,
                                                  self.timings['keystone']))
        if self.use_glance:
            t0 = time.monotonic()
            self.glance = cloud.Glance(self, self.create_database('glance'),
                                       self.ports['glance'], self.keystone)
            self.glance.start()
            self.timings['glance'] = time.monotonic() - t0
            self.progress('glance-api on %s (%.0fs)' % (
                self.glance.url, self.timings['glance']))

    # -- cinder --------------------------------------------------------------

    def _write_conf(self):
        state = os.path.join(self.dir, 'state')
        locks = os.path.join(self.dir, 'locks')
        for d in (state, locks):
            os.makedirs(d, exist_ok=True)
        privsep = os.path.join(VENV_BIN, 'privsep-helper')
        conf = {
            'DEFAULT': {
                'transport_url': 'rabbit://guest:guest@127.0.0.1:%d/' %
                                 self.ports['rabbit'],
                'auth_strategy': 'noauth',
                'api_paste_config': api_paste_ini(),
                'osapi_volume_listen': '127.0.0.1',
                'osapi_volume_listen_port': self.ports['api'],
                'osapi_volume_workers': 1,
                'my_ip': '127.0.0.1',
                'host': VOLUME_HOST,
                'state_path': state,
                'enabled_backends': BACKEND,
                'default_volume_type': 'shared-a',
                'report_interval': 5,
                'periodic_interval': 5,
                'backend_stats_polling_interval': 5,
                'scheduler_driver_init_wait_time': 1,
                'rpc_response_timeout': 180,
                'image_conversion_dir': self.conversion_dir(),
                'debug': True,
                'log_file': '',
            },
            'database': {'connection': self.db_url},
            'oslo_concurrency': {'lock_path': locks},
            'coordination': {'backend_url': self.coordination_url or
                             'file://%s' % locks},
            # NOTE: no sudo here and we are root: start privsep helpers
            # directly instead of through 'sudo privsep-helper'.
            'cinder_sys_admin': {
                'helper_command': '%s --config-file %s' % (privsep,
                                                           self.conf_file)},
            'privsep_osbrick': {
                'helper_command': '%s --config-file %s' % (privsep,
                                                           self.conf_file)},
            BACKEND: {
                'volume_driver': 'cinder_shared_lvm.driver.SharedLVMDriver',
                'volume_backend_name': BACKEND,
                'shared_lvm_volume_group': self.vg,
                'shared_lvm_devices': ','.join(
                    list(self.pools.values()) or self.devices),
                'shared_lvm_executor': 'rig.remote_execute.execute',
                'volume_clear': 'none',
            },
        }
        if self.pools:
            conf[BACKEND]['shared_lvm_volume_groups'] = ','.join(self.pools)
        if self.cluster:
            conf['DEFAULT']['cluster'] = self.cluster
        for host in self.volume_hosts[1:]:
            cloud.write_ini(self.host_conf(host), {'DEFAULT': {'host': host}})
        del conf['DEFAULT']['log_file']
        # NOTE: cinder-api looks for /etc/cinder/resource_filters.json;
        # without it name filters are silently ignored
        # (doc/source/design.rst, "Testing on these machines").
        conf['DEFAULT']['resource_query_filters_file'] = os.path.join(
            sys.prefix, 'etc', 'cinder', 'resource_filters.json')
        if self.use_keystone:
            conf['DEFAULT']['auth_strategy'] = 'keystone'
            conf['keystone_authtoken'] = cloud.authtoken_section(
                self.keystone, 'cinder')
        if self.use_glance:
            conf['DEFAULT']['glance_api_servers'] = self.glance.url
        if self.use_backup:
            conf['DEFAULT'].update(self.backup_conf())
        cloud.write_ini(self.conf_file, conf)

    def conversion_dir(self) -> str:
        """image_conversion_dir: on the rig's share, seen by cinder-node.

        The driver converts images with qemu-img on the host that runs its
        executor, so the temporary file must be at the same path there.
        """
        with open(self.rig_state) as f:
            share = json.load(f)['share_dir']
        path = tempfile.mkdtemp(prefix='conversion-', dir=share)
        self.extra_dirs.append(path)
        return path

    def backup_conf(self) -> dict:
        """cinder-backup's options: the posix driver on a directory."""
        path = os.path.join(self.dir, 'backups')
        os.makedirs(path, exist_ok=True)
        return {
            'backup_driver': 'cinder.backup.drivers.posix.PosixBackupDriver',
            'backup_posix_path': path,
            # NOTE: the chunk cinder-backup reads at once; 32 MiB keeps
            # each rig transfer small (a multiple of the 32 KiB SHA block
            # that incremental backups compare).
            'backup_file_size': 32 * 1024 * 1024,
            'backup_sha_block_size_bytes': 32 * 1024,
        }

    def host_conf(self, host: str) -> str:
        """The second config file of the cinder-volume on *host*."""
        return os.path.join(self.dir, 'cinder-%s.conf' % host)

    def service_env(self, rig_host=VOLUME_HOST):
        path = os.environ.get('PATH', '')
        return {'CSLVM_RIG_STATE': self.rig_state,
                'CSLVM_RIG_HOST': rig_host,
                'PYTHONPATH': REPO + (os.pathsep + os.environ['PYTHONPATH']
                                      if os.environ.get('PYTHONPATH')
                                      else ''),
                'PATH': VENV_BIN + os.pathsep + path}

    def _start_service(self, name):
        # NOTE: cinder-backup is cinder-backup-shared-lvm with the rig's
        # data path (tests/services/rig_backup.py).
        binary, _sep, host = name.partition('@')
        argv = ([sys.executable, '-m', 'tests.services.rig_backup']
                if name == BACKUP_SERVICE else
                [os.path.join(VENV_BIN, binary)])
        argv += ['--config-file', self.conf_file]
        if host:
            argv += ['--config-file', self.host_conf(host)]
        self._spawn(name, argv + ['--log-file',
                                  os.path.join(self.dir, '%s.log' % name)],
                    env=self.service_env(host or VOLUME_HOST))

    def _wait_ready(self):
        t0 = time.monotonic()
        try:
            wait_for('cinder-api on 127.0.0.1:%d' % self.ports['api'],
                     lambda: port_open(self.ports['api']), 180,
                     proc=self.procs['cinder-api'])
        except StackError as err:
            # The work dir goes with cleanup; keep the reason in the error.
            raise StackError('%s\n%s' % (err, self.tail('cinder-api')))

        names = self.services[1:]
        binaries = [name.partition('@')[0] for name in names]

        def services_up():
            for name in names:
                if self.procs[name].poll() is not None:
                    raise StackError('%s exited: %s' % (name,
                                                        self.tail(name)))
            res = self.cli('service-list', check=False)
            rows = [r for r in parse_table(res.stdout)
                    if r.get('Binary') in binaries]
            return (len(rows) == len(binaries) and
                    all(r['State'] == 'up' for r in rows)) and rows
        wait_for('cinder services up', services_up, 300, interval=2)

        def pool_ready():
            res = self.cli('get-pools', check=False)
            return res.returncode == 0 and BACKEND in res.stdout
        wait_for('pool %s reported' % BACKEND, pool_ready, 180, interval=2)
        self.timings['services'] = time.monotonic() - t0

    # -- the CLI -------------------------------------------------------------

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d/v3' % self.ports['api']

    def cli_env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        if self.use_keystone:
            env.update(self.keystone.os_env())
        else:
            env.update(OS_AUTH_TYPE='noauth', OS_PROJECT_ID=PROJECT_ID,
                       OS_USER_ID=USER_ID)
        env.update(OS_VOLUME_API_VERSION=API_VERSION)
        return env

    def cli_argv(self, *args):
        return [os.path.join(VENV_BIN, 'cinder'), '--os-endpoint',
                self.endpoint, '--os-volume-api-version', API_VERSION] + \
            [str(a) for a in args]

    def cli(self, *args, check=True, timeout=120, tool='cinder'):
        """Run ``cinder <args>`` (or ``glance``); :returns: CompletedProcess.
        """
        argv = self.cli_argv(*args) if tool == 'cinder' else \
            [os.path.join(VENV_BIN, tool)] + [str(a) for a in args]
        res = subprocess.run(argv, capture_output=True,
                             text=True, timeout=timeout, env=self.cli_env(),
                             stdin=subprocess.DEVNULL)
        if check and res.returncode:
            raise StackError('%s %s failed (rc %d): %s%s' % (
                tool, ' '.join(str(a) for a in args), res.returncode,
                res.stdout, res.stderr))
        return res

    def client(self):
        """python-cinderclient's API object (what Nova uses)."""
        from cinderclient import client as cclient
        from keystoneauth1 import session
        if self.use_keystone:
            sess = self.keystone.session()
        else:
            from cinderclient.contrib import noauth
            sess = session.Session(auth=noauth.CinderNoAuthPlugin(
                USER_ID, PROJECT_ID, None, self.endpoint))
        return cclient.Client(API_VERSION, session=sess,
                              endpoint_override=self.endpoint)


def parse_table(text: str) -> list:
    """Rows of a prettytable printed by the cinder CLI, as dicts."""
    rows, header = [], None
    for line in text.splitlines():
        if not line.startswith('|'):
            continue
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if header is None:
            header = cells
            continue
        rows.append(dict(zip(header, cells)))
    return rows


def parse_show(text: str) -> dict:
    """``Property | Value`` output of a ``cinder show``-like command."""
    out = {}
    last = None
    for row in parse_table(text):
        key = row.get('Property') or row.get('Field')
        value = row.get('Value', '')
        if key:
            out[key] = value
            last = key
        elif last is not None:
            # NOTE: long values wrap onto rows with an empty key.
            out[last] += value
    return out


def run_cli_lifecycle(rig_state_file, progress=print, db='auto'):
    """Boot the services, run the CLI lifecycle, tear everything down.

    :returns: list of (step, host, result, seconds) rows
    """
    from tests.services import lifecycle
    return lifecycle.run(rig_state_file, progress=progress, db=db)


if __name__ == '__main__':
    state = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        'CSLVM_RIG_STATE')
    rows = run_cli_lifecycle(state)
    print(json.dumps(rows, indent=1))
