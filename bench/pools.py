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

"""Several VGs against one: what LVM itself charges at 40,000 LVs.

Every LVM command reads the whole metadata of the VG it acts on, so one VG
is linear in its LV count (benchmarks.rst, "Scale"). Splitting the LVs
over several VGs, one per LUN, bounds that cost by the LVs of one VG,
*if* each command sees only its own VG's device: LVM's label scan still
reads the headers of every device the filter admits. This measures both,
raw LVM on loop devices (metadata only), in one interleaved run:

* ``lvcreate`` + ``lvremove`` in a VG of 10 LVs (the baseline), in one of
  4 VGs of 10,000 LVs each with a filter that admits its own device only,
  the same with a filter that admits all 4 devices, and in one VG of
  40,000 LVs;
* 16 parallel ``lvcreate`` spread over the 4 VGs (4 each, per-VG filter)
  against 16 parallel ``lvcreate`` in the one 40,000-LV VG: creates/s;
* the same through the driver: ``create_volume`` + ``delete_volume`` of a
  backend over the 4 VGs (``shared_lvm_volume_groups``) against a backend
  on the one VG, one at a time and 16 creates at once.
"""

import uuid

from bench import hostlvm
from bench import timing
from cinder.volume import configuration
from cinder.volume import driver as cinder_driver
from cinder_shared_lvm import driver as drvmod
from cinder_shared_lvm import lvm
from tests import cinder_objects

POOLS = 4


class _VG(object):
    """A populated host VG and the --config that its commands carry."""

    def __init__(self, lvs: int, progress):
        self.host = hostlvm.HostVG(progress=progress)
        self.populate_s = self.host.populate(lvs)
        self.name = self.host.vg
        self.config = self.host.config

    def lvm(self, command, *args, config=None, check_exit_code=True):
        return hostlvm.processutils.execute(
            command, '--config', config or self.config, *args,
            check_exit_code=check_exit_code)

    def cycle(self, config=None):
        """Seconds of one lvcreate and of one lvremove."""
        name = 'bench-%s' % uuid.uuid4().hex[:10]
        t_c = timing.clock(self.lvm, 'lvcreate', '-n', name, '-L', '4m',
                           '-an', '-Zn', '--setautoactivation', 'n',
                           '--yes', self.name, config=config)
        t_d = timing.clock(self.lvm, 'lvremove', '-f',
                           '%s/%s' % (self.name, name), config=config)
        return t_c, t_d


def _parallel_creates(targets) -> float:
    """Wall seconds of one lvcreate per (vg) in *targets*, all at once;
    the LVs are removed afterwards (untimed)."""
    names = [(vg, 'par-%s' % uuid.uuid4().hex[:10]) for vg in targets]
    try:
        return timing.parallel([
            lambda vg=vg, name=name: vg.lvm(
                'lvcreate', '-n', name, '-L', '4m', '-an', '-Zn',
                '--setautoactivation', 'n', '--yes', vg.name)
            for vg, name in names])
    finally:
        for vg, name in names:
            vg.lvm('lvremove', '-f', '%s/%s' % (vg.name, name),
                   check_exit_code=False)


POOLS_BACKEND = 'bench_pools'


def _pools_driver(pools):
    """A backend over *pools*, its pool drivers on metadata-only LVM."""
    conf = configuration.Configuration(cinder_driver.volume_opts,
                                       config_group=POOLS_BACKEND)
    drv = drvmod.SharedLVMDriver(configuration=conf,
                                 execute=hostlvm.processutils.execute,
                                 host='bench@' + POOLS_BACKEND)
    drv._read_attachments = cinder_objects.attachments_of
    for key, value in {
            'shared_lvm_devices': [p.host.device for p in pools],
            'shared_lvm_volume_groups': [p.name for p in pools],
            'volume_clear': 'none',
            'volume_backend_name': POOLS_BACKEND}.items():
        hostlvm.env.CONF.set_override(key, value, group=POOLS_BACKEND)
    drv.do_setup(None)
    for child in drv.pool_drivers.values():
        # NOTE: as hostlvm.make_driver: the metadata-only config.
        child.vg.lvm_config = lvm.build_lvm_config(child.vg.devices, False,
                                                   hostlvm.EXTRA)
    drv.check_for_setup_error()
    return drv


def _driver_cycle(drv, host):
    vol = cinder_objects.volume(hostlvm.context.get_admin_context(),
                                host=host)
    return (timing.clock(drv.create_volume, vol),
            timing.clock(drv.delete_volume, vol))


def _driver_parallel(drv, hosts) -> float:
    ctx = hostlvm.context.get_admin_context()
    vols = [cinder_objects.volume(ctx, host=h) for h in hosts]
    try:
        return timing.parallel([lambda v=v: drv.create_volume(v)
                                for v in vols])
    finally:
        for vol in vols:
            drv.delete_volume(vol)


def run(per_pool=10000, rounds=5, parallel=16, progress=print) -> dict:
    reason = hostlvm.skip_reason()
    if reason:
        return {'skipped': reason}
    hostlvm.env.start_coordinator()
    vgs = []
    drivers = []
    try:
        base = _VG(10, progress)
        vgs.append(base)
        pools = []
        for _ in range(POOLS):
            pools.append(_VG(per_pool, progress))
            vgs.append(pools[-1])
        single = _VG(per_pool * POOLS, progress)
        vgs.append(single)
        wide = lvm.build_lvm_config([p.host.device for p in pools], False,
                                    hostlvm.EXTRA)
        multi = _pools_driver(pools)
        drivers.append(POOLS_BACKEND)
        one, _ctx = hostlvm.make_driver(single.host)
        drivers.append(hostlvm.BACKEND)
        pool_hosts = ['bench@%s#%s' % (POOLS_BACKEND, p.name) for p in pools]
        one_host = 'bench@%s#%s' % (hostlvm.BACKEND, hostlvm.BACKEND)
        cases = {
            'driver_pools': lambda i: _driver_cycle(
                multi, pool_hosts[i % POOLS]),
            'driver_one_vg': lambda i: _driver_cycle(one, one_host),
            'parallel_driver_pools': lambda i: _driver_parallel(
                multi, [pool_hosts[k % POOLS] for k in range(parallel)]),
            'parallel_driver_one_vg': lambda i: _driver_parallel(
                one, [one_host] * parallel),
            'vg_10': lambda i: base.cycle(),
            'pool_own_filter': lambda i: pools[i % POOLS].cycle(),
            'pool_all_filter': lambda i: pools[i % POOLS].cycle(wide),
            'one_vg': lambda i: single.cycle(),
            'parallel_pools': lambda i: _parallel_creates(
                [pools[k % POOLS] for k in range(parallel)]),
            'parallel_one_vg': lambda i: _parallel_creates(
                [single] * parallel),
        }
        runs = timing.interleave(cases, rounds)
    finally:
        for vg in vgs:
            vg.host.close()
        if hostlvm.BACKEND in drivers:
            hostlvm.reset_overrides()
        if POOLS_BACKEND in drivers:
            for key in ('shared_lvm_devices', 'shared_lvm_volume_groups',
                        'volume_clear', 'volume_backend_name'):
                hostlvm.env.CONF.clear_override(key, group=POOLS_BACKEND)
    return _report(runs, per_pool, parallel)


def _report(runs: dict, per_pool: int, parallel: int) -> dict:
    out = {'pools': POOLS, 'lvs_per_pool': per_pool,
           'lvs_one_vg': per_pool * POOLS, 'parallel': parallel}
    base_c = [c for c, _d in runs['vg_10']]
    for name in ('vg_10', 'pool_own_filter', 'pool_all_filter', 'one_vg',
                 'driver_pools', 'driver_one_vg'):
        creates = [c for c, _d in runs[name]]
        removes = [d for _c, d in runs[name]]
        out[name] = {'lvcreate': timing.summary(creates),
                     'lvremove': timing.summary(removes),
                     'create_ratio_to_10_lvs': timing.ratio(creates,
                                                            base_c)}
    for name in ('parallel_pools', 'parallel_one_vg',
                 'parallel_driver_pools', 'parallel_driver_one_vg'):
        wall = timing.summary(runs[name])
        out[name] = dict(wall, creates_per_s=round(
            parallel / wall['median_s'], 2))
    out['ratio_parallel_pools_to_one_vg'] = round(
        out['parallel_pools']['creates_per_s'] /
        out['parallel_one_vg']['creates_per_s'], 3)
    out['ratio_parallel_driver_pools_to_one_vg'] = round(
        out['parallel_driver_pools']['creates_per_s'] /
        out['parallel_driver_one_vg']['creates_per_s'], 3)
    return out


if __name__ == '__main__':
    import json
    import sys
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    print(json.dumps(run(per_pool=n, rounds=3), indent=1))
