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

"""The acceptance run: backups, images and tempest against the rig's cloud.

``python -m tests.services.acceptance [--results DIR] [--regex RE]`` (what
``tools/acceptance`` runs) boots a rig (cinder-node, compute-1) unless
``CSLVM_RIG_STATE`` names one, prepares the shared VG, starts
``Stack(keystone=True, glance=True, backup=True)``, runs the thorough
backup/image checks (``backup_image``), then tempest 47 with
cinder-tempest-plugin against the same services, and writes into DIR:

* ``tempest.conf``, ``tempest.log`` and the subunit stream;
* ``results.json``: versions, counts and one (test id, status, reason)
  row per test; ``tools/acceptance`` renders it into doc/source/tempest.rst.

What tempest is told (``tempest_conf``): Nova, Neutron and Swift are
absent (their tests skip themselves), Glance is real; the volume feature
flags are what the driver supports.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

from tests.services import backup_image
from tests.services import cloud
from tests.services import lifecycle
from tests.services import stack as stackmod

#: The tests run: the volume API tests of tempest and of the plugin, and
#: the scenario tests (those that need an instance skip: no Nova).
DEFAULT_REGEX = (r'^(tempest\.api\.volume\.|cinder_tempest_plugin\.api\.'
                 r'volume\.|tempest\.scenario\.|cinder_tempest_plugin\.'
                 r'scenario\.)')
CONCURRENCY = 2
DISTRIBUTIONS = ('cinder', 'os-brick', 'keystone', 'glance', 'glance_store',
                 'tempest', 'cinder-tempest-plugin', 'python-cinderclient',
                 'python-glanceclient', 'keystonemiddleware',
                 'cinder-shared-lvm')


def tempest_conf(stack, workdir: str) -> dict:
    ks = stack.keystone
    return {
        'DEFAULT': {'log_file': os.path.join(workdir, 'tempest.log'),
                    'debug': 'false'},
        'auth': {'use_dynamic_credentials': 'true',
                 'admin_username': 'admin',
                 'admin_password': cloud.ADMIN_PASSWORD,
                 'admin_project_name': 'admin',
                 'admin_domain_name': cloud.DOMAIN,
                 # No Neutron: no network per test project.
                 'create_isolated_networks': 'false'},
        'identity': {'uri_v3': ks.url, 'auth_version': 'v3',
                     'region': cloud.REGION,
                     'v3_endpoint_type': 'public'},
        'identity-feature-enabled': {'api_v3': 'true'},
        # NOTE: horizon defaults to true in tempest; unset, the dashboard
        # scenario tries to log in to a Horizon that is not there.
        'service_available': {'cinder': 'true', 'glance': 'true',
                              'nova': 'false', 'neutron': 'false',
                              'swift': 'false', 'barbican': 'false',
                              'horizon': 'false'},
        # NOTE: cinder 29 enforces scope and the new policy defaults.
        'enforce_scope': {'cinder': 'true'},
        'volume': {'catalog_type': 'block-storage',
                   'region': cloud.REGION,
                   'backend_names': stackmod.BACKEND,
                   'storage_protocol': 'shared_lvm',
                   'vendor_name': 'Open Source',
                   'backup_driver': 'posix',
                   'volume_size': 1,
                   'min_microversion': '3.0',
                   'max_microversion': 'latest',
                   'build_timeout': 900,
                   'build_interval': 2,
                   # The driver's LV names (manage/unmanage tests).
                   'manage_volume_ref': 'source-name,volume-%s',
                   'manage_snapshot_ref': 'source-name,_snapshot-%s',
                   'disk_format': 'raw,qcow2'},
        'volume-feature-enabled': {
            'backup': 'true', 'snapshot': 'true', 'clone': 'true',
            'manage_volume': 'true', 'manage_snapshot': 'true',
            'api_extensions': 'all', 'multi_backend': 'false',
            'replication': 'false',
            # Extending an attached volume is Nova's part of the work
            # (os-brick extend on the compute host): no Nova here.
            'extend_attached_volume': 'false',
            'extend_attached_encrypted_volume': 'false',
            'extend_volume_with_snapshot': 'true',
            # Every volume is a full copy: an image never depends on a
            # volume, nor a volume on an image.
            'enable_volume_image_dep_tests': 'false',
            'volume_image_dep_tests': 'false',
            'volume_revert': 'true', 'consistency_group': 'false'},
        'image': {'catalog_type': 'image', 'region': cloud.REGION},
        'image-feature-enabled': {'api_v2': 'true'},
        'validation': {'run_validation': 'false'},
    }


def versions() -> dict:
    from importlib import metadata
    out = {}
    for name in DISTRIBUTIONS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = 'absent'
    return out


def parse_subunit(path: str) -> list:
    """[(test id, status, details text)] from a subunit v2 stream.

    status is subunit's: success, skip, fail, xfail, uxsuccess.
    """
    import subunit
    import testtools
    rows = []

    def on_test(test):
        if test['status'] in ('exists', 'inprogress'):
            return
        details = []
        for name, content in sorted(test['details'].items()):
            try:
                text = ''.join(content.iter_text())
            except Exception:
                text = repr(b''.join(content.iter_bytes())[:200])
            details.append('%s: %s' % (name, text))
        test_id = test['id']
        if not test_id.startswith(('setUpClass', 'tearDownClass')):
            test_id = test_id.split('[', 1)[0]
        rows.append((test_id, test['status'], '\n'.join(details)))
    with open(path, 'rb') as f:
        case = subunit.ByteStreamToStreamResult(f, non_subunit_name='stdout')
        result = testtools.StreamToDict(on_test)
        result.startTestRun()
        case.run(result)
        result.stopTestRun()
    return rows


def skip_reason(details: str) -> str:
    """The line that says why: a skip's reason, a failure's exception."""
    lines = [ln.strip() for ln in details.splitlines() if ln.strip()]
    for line in lines:
        if line.startswith('reason:'):
            return line[len('reason:'):].strip()[:300]
    for line in reversed(lines):
        if not line.startswith(('File ', 'traceback:', 'Traceback')) and \
                ('Error' in line or 'Exception' in line or
                 'Failure' in line or 'exception' in line):
            return line[:300]
    return (lines[-1] if lines else '')[:300]


def write_stestr_conf(workspace: str):
    """Discover through tests/services/tempest_discover (see its docstring:
    the volume classes that skip only for want of Neutron run)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    with open(os.path.join(workspace, '.stestr.conf'), 'w') as f:
        f.write('[DEFAULT]\ntest_path=%s\ntop_dir=%s\n'
                'group_regex=([^\\.]*\\.)*\n'
                % (os.path.join(root, 'tests', 'services', 'tempest_discover'),
                   root))


def run_tempest(stack, workdir: str, regex: str, progress) -> dict:
    os.makedirs(workdir, exist_ok=True)
    conf = os.path.join(workdir, 'tempest.conf')
    values = tempest_conf(stack, workdir)
    # NOTE: tempest's volume-from-image tests (VolumesImageMetadata, ...)
    # take CONF.compute.image_ref; unset, they GET /v2/images/None (seen in
    # the first run). Give them a real 1 MiB raw image in Glance.
    image = os.path.join(workdir, 'tempest-image.raw')
    with open(image, 'wb') as f:
        f.write(os.urandom(1024 * 1024))
    out = stackmod.parse_show(stack.cli(
        'image-create', '--name', 'tempest-image', '--disk-format', 'raw',
        '--container-format', 'bare', '--visibility', 'public', '--file',
        image, tool='glance').stdout)
    values['compute'] = {'image_ref': out['id']}
    cloud.write_ini(conf, values)
    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    ws = os.path.join(workdir, 'workspace')
    if not os.path.isdir(os.path.join(ws, 'etc')):
        subprocess.run([os.path.join(bin_dir, 'tempest'), 'init',
                        '--workspace-path',
                        os.path.join(workdir, 'workspaces.yaml'), ws],
                       check=True, capture_output=True, cwd=workdir)
    write_stestr_conf(ws)
    subunit = os.path.join(workdir, 'tempest.subunit')
    t0 = time.monotonic()
    progress('tempest run --regex %r --concurrency %d' % (regex,
                                                          CONCURRENCY))
    with open(subunit, 'wb') as out, \
            open(os.path.join(workdir, 'tempest-run.log'), 'wb') as err:
        rc = subprocess.run(
            [os.path.join(bin_dir, 'tempest'), 'run', '--config-file', conf,
             '--regex', regex, '--concurrency', str(CONCURRENCY),
             '--subunit'], stdout=out, stderr=err, cwd=ws,
            env=stackmod.service_process_env()).returncode
    seconds = time.monotonic() - t0
    rows = parse_subunit(subunit)
    counts = {}
    for _test, status, _details in rows:
        counts[status] = counts.get(status, 0) + 1
    progress('tempest: rc %d in %.0fs: %s' % (rc, seconds, counts))
    return {'rc': rc, 'seconds': round(seconds), 'counts': counts,
            'tests': [{'id': t, 'status': s,
                       'reason': skip_reason(d) if s != 'success'
                       else ''} for t, s, d in sorted(rows)]}


def run(rig_state_file, results: str, regex=DEFAULT_REGEX, progress=print,
        checks=True) -> dict:
    client = lifecycle.RigClient(rig_state_file)
    stack = stackmod.Stack(rig_state_file, vg=lifecycle.VG,
                           progress=progress, keystone=True, glance=True,
                           backup=True)
    life = backup_image.BackupImageChecks(stack, client, progress=progress)
    report = {'date': datetime.datetime.now(datetime.timezone.utc)
              .strftime('%Y-%m-%d %H:%M UTC'), 'versions': versions(),
              'regex': regex, 'concurrency': CONCURRENCY}
    try:
        life.step('cinder-shared-lvm prepare', stackmod.VOLUME_HOST,
                  life.prepare_vg)

        def start():
            stack.start()
            return 'keystone, glance, cinder api/scheduler/volume/backup up'
        life.step('start services', 'localhost', start)
        if checks:
            # NOTE: a failed check is reported, and tempest still runs.
            try:
                life.run_checks(thorough=True)
            except Exception as err:
                report['checks_error'] = '%s: %s' % (type(err).__name__,
                                                     err)
                progress('backup/image checks FAILED: %s' % err)
            life.cleanup()
        if not any(r[0].startswith('cinder type-create') for r in life.rows):
            life.types()
        report['checks'] = [list(r[:3]) + [r[3]] for r in life.rows]
        report['tempest'] = run_tempest(stack, results, regex, progress)
    finally:
        try:
            life.cleanup()
        finally:
            stack.cleanup()
            lifecycle.remove_vg(client)
        with open(os.path.join(results, 'results.json'), 'w') as f:
            json.dump(report, f, indent=1)
    return report


def render_rst(report: dict) -> str:
    """The results part of doc/source/tempest.rst (an include file)."""
    tempest = report.get('tempest', {})
    counts = tempest.get('counts', {})
    lines = ['.. Generated by tools/acceptance from results.json.',
             '', 'Run of %s, tempest regex ``%s``, concurrency %d, %ss; '
             'tempest exit code %s.' % (report['date'], report['regex'],
                                        report['concurrency'],
                                        tempest.get('seconds'),
                                        tempest.get('rc')), '',
             '.. list-table:: Versions', '   :header-rows: 1', '',
             '   * - package', '     - version']
    for name, version in sorted(report['versions'].items()):
        lines += ['   * - %s' % name, '     - %s' % version]
    lines += ['', '**Counts**: %s passed, %s skipped, %s failed.' % (
        counts.get('success', 0), counts.get('skip', 0),
        counts.get('fail', 0)), '']
    if report.get('checks'):
        lines += ['.. list-table:: Backup and image checks (backup_image)',
                  '   :header-rows: 1', '', '   * - step', '     - host',
                  '     - result', '     - seconds']
        for step, host, result, seconds in report['checks']:
            lines += ['   * - %s' % step, '     - %s' % host,
                      '     - %s' % result, '     - %s' % seconds]
        lines.append('')
    if report.get('checks_error'):
        lines += ['**The backup and image checks failed**: ``%s``' %
                  report['checks_error'].splitlines()[0][:300], '']
    lines += ['.. list-table:: Tests', '   :header-rows: 1', '',
              '   * - test', '     - outcome', '     - reason']
    for test in tempest.get('tests', []):
        reason = (test['reason'] or '').replace('`', "'").replace('*', '')
        lines += ['   * - ``%s``' % test['id'], '     - %s' % test['status'],
                  '     - %s' % (reason or ' ')]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--results', default=os.path.abspath(
        'acceptance-results'))
    parser.add_argument('--regex', default=DEFAULT_REGEX)
    parser.add_argument('--no-checks', action='store_true',
                        help='skip the backup/image checks, run tempest only')
    parser.add_argument('--render', metavar='RESULTS_JSON',
                        help='only print the rst of a finished run')
    args = parser.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            sys.stdout.write(render_rst(json.load(f)))
        return 0
    os.makedirs(args.results, exist_ok=True)
    state = os.environ.get('CSLVM_RIG_STATE')
    rig = None
    if not state:
        from rig import Rig
        rig = Rig(hosts=(stackmod.VOLUME_HOST, lifecycle.COMPUTE),
                  lun_size='40G', progress=print).start()
        state = rig.state_file
    try:
        report = run(state, args.results, args.regex,
                     checks=not args.no_checks)
    finally:
        if rig is not None:
            rig.close()
    counts = report.get('tempest', {}).get('counts', {})
    return 1 if counts.get('fail') or report.get('checks_error') else 0


if __name__ == '__main__':
    sys.exit(main())
