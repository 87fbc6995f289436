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

"""Metadata-only LVM on a loop device on this machine (no device-mapper).

Times the driver's ``create_volume`` and ``delete_volume`` against the bare
``lvcreate``/``lvremove`` they wrap (the same argv, run directly), at
growing LV counts in a VG whose metadata area ``cinder-shared-lvm
prepare`` sized. Every command carries ``global { activation=0 }``
(design.rst, testing); snapshots need device-mapper and run on the rig.
"""

import io
import os
import shutil
import subprocess
import tempfile
import uuid

from bench import env
from bench import populate as pop
from bench import timing
from cinder import context
from cinder.volume import configuration
from cinder.volume import driver as cinder_driver
from oslo_concurrency import processutils

from cinder_shared_lvm.cmd import main as cli
from cinder_shared_lvm.cmd import prepare
from cinder_shared_lvm import driver as drvmod
from cinder_shared_lvm import lvm
from tests import cinder_objects

# NOTE: archive=0: LVM would otherwise keep a copy of the whole metadata
# (megabytes at 10,000+ LVs) in /etc/lvm/archive for every write, for 30
# days. Driver and raw commands carry the same config.
EXTRA = 'global { activation=0 } backup { archive=0 } '
BACKEND = 'bench_host'
EXPECTED_VOLUMES = 20000


def _run(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True,
                          timeout=600)


def skip_reason():
    if os.geteuid() != 0:
        return 'needs root'
    for tool in ('losetup', 'lvm'):
        if not shutil.which(tool):
            return 'no %s' % tool
    return None


class HostVG(object):
    """A sparse image on a loop device holding the shared VG."""

    def __init__(self, image_size='256G', progress=print):
        self.progress = progress
        self.tmp = tempfile.mkdtemp(prefix='cslvm-bench-host-')
        sysdir = os.path.join(self.tmp, 'lvm')
        os.mkdir(sysdir)
        open(os.path.join(sysdir, 'lvm.conf'), 'w').close()
        os.environ['LVM_SYSTEM_DIR'] = sysdir
        os.environ['LVM_SUPPRESS_FD_WARNINGS'] = '1'
        self.image = os.path.join(self.tmp, 'lun.img')
        _run('truncate', '-s', image_size, self.image)
        res = _run('losetup', '-f', '--show', self.image)
        if res.returncode:
            raise RuntimeError('losetup: %s' % res.stderr)
        self.device = res.stdout.strip()
        self.vg = 'benchvg-%s' % uuid.uuid4().hex[:6]
        self.config = lvm.build_lvm_config([self.device], False, EXTRA)
        out, err = io.StringIO(), io.StringIO()
        rc = cli.main(['prepare', '--vg', self.vg, '--devices', self.device,
                       '--expected-volumes', str(EXPECTED_VOLUMES),
                       '--force', '--lvm-extra-config', EXTRA],
                      stdout=out, stderr=err)
        if rc:
            raise RuntimeError('prepare failed: %s' % err.getvalue())
        self.metadata_mib = prepare.metadata_size_mib(EXPECTED_VOLUMES)

    def execute(self, *argv, **kw):
        return processutils.execute(*argv, **kw)

    def lvm(self, command, *args):
        return processutils.execute(command, '--config', self.config,
                                    *args)

    def populate(self, n):
        path = os.path.join(self.tmp, 'vg.txt')
        return pop.populate(self.execute, self.vg, self.config, n, path)

    def mda_free(self):
        out, _ = self.lvm('vgs', '--noheadings', '--units', 'b',
                          '--nosuffix', '-o', 'vg_mda_size,vg_mda_free',
                          self.vg)
        size, free = out.split()
        return int(size), int(free)

    def close(self):
        _run('vgremove', '--config', self.config, '-f', self.vg)
        _run('pvremove', '--config', self.config, '-ff', '-y', self.device)
        _run('losetup', '-d', self.device)
        shutil.rmtree(self.tmp, ignore_errors=True)


def make_driver(hvg):
    ctx = context.get_admin_context()
    conf = configuration.Configuration(cinder_driver.volume_opts,
                                       config_group=BACKEND)
    drv = drvmod.SharedLVMDriver(configuration=conf,
                                 execute=processutils.execute,
                                 host='bench@' + BACKEND)
    drv._read_attachments = cinder_objects.attachments_of
    for key, value in {'shared_lvm_devices': [hvg.device],
                       'shared_lvm_volume_group': hvg.vg,
                       'volume_clear': 'none',
                       'volume_backend_name': BACKEND}.items():
        env.CONF.set_override(key, value, group=BACKEND)
    drv.do_setup(ctx)
    # NOTE: the driver has no option for extra LVM config; give its LVM
    # layer the metadata-only config that the raw commands carry too.
    drv.vg.lvm_config = hvg.config
    drv.check_for_setup_error()
    return drv, ctx


def _volume(ctx, tag):
    return cinder_objects.volume(ctx)


def measure_point(hvg, drv, ctx, rounds):
    """Driver vs raw create and delete at the VG's current size."""
    raw_create = ['lvcreate', '-n', None, '-L', '1g', '-an', '-Zn',
                  '--setautoactivation', 'n', '--yes', hvg.vg]

    def drv_cycle(i):
        vol = _volume(ctx, i)
        t_c = timing.clock(drv.create_volume, vol)
        t_d = timing.clock(drv.delete_volume, vol)
        return t_c, t_d

    def raw_cycle(i):
        name = 'raw-%s' % uuid.uuid4().hex[:10]
        argv = list(raw_create)
        argv[2] = name
        t_c = timing.clock(hvg.lvm, *argv)
        t_d = timing.clock(hvg.lvm, 'lvremove', '-f', '%s/%s' % (hvg.vg,
                                                                 name))
        return t_c, t_d

    def vgs_read(i):
        # The reads the driver adds: vgs before a create (space checks),
        # lvs of one LV before a delete (state checks).
        return (timing.clock(hvg.lvm, 'vgs', '--readonly', '--noheadings',
                             hvg.vg),
                timing.clock(hvg.lvm, 'lvs', '--noheadings',
                             '%s/fill%06d' % (hvg.vg, 0)))

    runs = timing.interleave({'driver': drv_cycle, 'raw': raw_cycle,
                              'vgs': vgs_read}, rounds)
    d_c = [a for a, _ in runs['driver']]
    d_d = [b for _, b in runs['driver']]
    r_c = [a for a, _ in runs['raw']]
    r_d = [b for _, b in runs['raw']]
    vgs = [a for a, _ in runs['vgs']]
    lvs = [b for _, b in runs['vgs']]
    return {'create_volume': timing.summary(d_c),
            'lvcreate': timing.summary(r_c),
            'delete_volume': timing.summary(d_d),
            'lvremove': timing.summary(r_d),
            'vgs': timing.summary(vgs),
            'lvs': timing.summary(lvs),
            'ratio_create': timing.ratio(d_c, r_c),
            'ratio_delete': timing.ratio(d_d, r_d)}


def run(points=(10, 1000, 2000, 5000, 10000, 20000, 40000), rounds=5,
        progress=print):
    reason = skip_reason()
    if reason:
        return {'skipped': reason}
    env.start_coordinator()
    hvg = HostVG(progress=progress)
    out = {'metadata_area_mib': hvg.metadata_mib,
           'expected_volumes': EXPECTED_VOLUMES, 'points': {}}
    try:
        drv, ctx = make_driver(hvg)
        for n in points:
            secs = hvg.populate(n)
            size, free = hvg.mda_free()
            res = measure_point(hvg, drv, ctx,
                                rounds if n <= 5000 else 3)
            res.update(populate_s=round(secs, 2), mda_size=size,
                       mda_free=free)
            out['points'][str(n)] = res
            progress('host n=%d create %.3fs (raw %.3fs, x%.2f) delete '
                     '%.3fs (raw %.3fs, x%.2f) mda free %d%%' % (
                         n, res['create_volume']['median_s'],
                         res['lvcreate']['median_s'], res['ratio_create'],
                         res['delete_volume']['median_s'],
                         res['lvremove']['median_s'], res['ratio_delete'],
                         100 * free // size))
    finally:
        hvg.close()
        reset_overrides()
    return out


def reset_overrides():
    for key in ('shared_lvm_devices', 'shared_lvm_volume_group',
                'volume_clear', 'volume_backend_name'):
        env.CONF.clear_override(key, group=BACKEND)


if __name__ == '__main__':
    import json
    import sys
    pts = tuple(int(a) for a in sys.argv[1:]) or (10, 1000)
    print(json.dumps(run(points=pts, rounds=3), indent=1))
