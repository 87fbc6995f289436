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

"""Commands per operation, counted at the executor seam (no timing).

Every driver and connector command goes through one executor (design.rst,
one executor), so a recording executor (``tests.unit.fakes.FakeExecutor``)
counts exactly what each operation runs. The counts are deterministic:
noise cannot blur them. ``tests/unit/test_bench_counts.py`` pins them.

The caller must have started Cinder's coordinator (``bench.env``).
"""

import uuid

from bench import env  # noqa: F401  (import order)
from cinder import context
from cinder.tests.unit import fake_snapshot
from cinder.volume import configuration
from cinder.volume import driver as cinder_driver
from oslo_config import cfg

from cinder_shared_lvm import connector as connmod
from cinder_shared_lvm import driver as drvmod
from tests import cinder_objects
from tests.unit import fakes

CONF = cfg.CONF
BACKEND = 'bench_counts'
VG = 'cinder-shared'
DEV = '/dev/disk/by-id/wwn-0x600a0b800010'
VG_UUID = 'teUu06-itZS-6kR9-vCtX-LzeM-WiRK-0hq57z'
LV_UUID = '2872O1-EmVw-mbMU-GO1U-o1nd-BGC1-rg5rZq'
GiB = 1 << 30
SIZES = (10, 1000, 5000)

# What each target allows (issue 6): metadata-writing LVM commands for
# create/delete/snapshot, LVM commands for a compute-side attach.
TARGETS = {'create_volume': ('writes', 1),
           # one command in all: the lvremove refuses an origin itself
           'delete_volume': ('lvm', 1),
           'delete_snapshot': ('lvm', 1),
           'create_snapshot': ('writes', 1),
           'connect_volume': ('lvm', 2)}


def _summary(executor) -> dict:
    cmds = executor.commands
    lvm_cmds = [c for c in cmds if c and c[0] in fakes.LVM_COMMANDS]
    return {'total': len(cmds),
            'lvm': len(lvm_cmds),
            'writes': sum(1 for c in lvm_cmds if fakes.is_metadata_write(c)),
            'commands': [' '.join(c[:3]) if c[0] == 'lvchange' else c[0]
                         for c in cmds]}


class _Bench(object):
    """A driver and a connector on one FakeVG with *n* LVs."""

    def __init__(self, n_lvs: int):
        self.ctx = context.get_admin_context()
        self.fvg = fakes.FakeVG(name=VG, uuid=VG_UUID, size=100000 * GiB)
        self.fvg.mda_size = 24 << 20
        self.fvg.mda_free = 20 << 20
        for i in range(n_lvs):
            self.fvg.add_lv('fill%05d' % i, size=4 << 20)
        self.exe = fakes.FakeExecutor(self.fvg.rules())
        # A compute host's discovery vgs (no VG argument) and blockdev.
        self.exe.add(lambda a: a[0] == 'vgs' and a[-1] == '--readonly',
                     ('  %s|%s\n' % (VG, VG_UUID), ''))
        self.exe.add(('blockdev', '--getsize64'), ('%d\n' % GiB, ''))
        self.driver = self._driver()

    def _driver(self):
        conf = configuration.Configuration(cinder_driver.volume_opts,
                                           config_group=BACKEND)
        drv = drvmod.SharedLVMDriver(configuration=conf, execute=self.exe,
                                     host='bench@' + BACKEND)
        drv._read_attachments = cinder_objects.attachments_of
        for key, value in {'shared_lvm_devices': [DEV],
                           'shared_lvm_volume_group': VG,
                           'volume_clear': 'none',
                           'volume_backend_name': BACKEND}.items():
            CONF.set_override(key, value, group=BACKEND)
        drv.do_setup(self.ctx)
        drv.check_for_setup_error()
        return drv

    def volume(self, attached_to=()):
        return cinder_objects.volume(self.ctx, attached_to=attached_to)

    def snapshot(self, vol):
        snap = fake_snapshot.fake_snapshot_obj(
            self.ctx, id=str(uuid.uuid4()), volume_id=vol.id,
            volume_size=vol.size)
        snap.volume = vol
        return snap

    def connector(self):
        return connmod.SharedLVMConnector(None, execute=self.exe,
                                          host='compute-1')

    def count(self, func, *args, **kwargs) -> dict:
        self.exe.reset()
        func(*args, **kwargs)
        return _summary(self.exe)


def measure(sizes=SIZES) -> dict:
    """{operation: {n_lvs: summary}} plus per-op worst case and targets."""
    ops = {}

    def put(name, n, summary):
        ops.setdefault(name, {})[str(n)] = summary

    for n in sizes:
        b = _Bench(n)
        vol = b.volume()
        put('create_volume', n, b.count(b.driver.create_volume, vol))
        b.fvg.add_lv(vol.name, size=GiB, uuid=LV_UUID)
        # NOTE: the first create read the VG; the ones that follow within
        # shared_lvm_vg_report_max_age check against that report.
        warm = b.volume()
        put('create_volume (recent VG report)', n,
            b.count(b.driver.create_volume, warm))
        b.fvg.add_lv(warm.name, size=GiB)
        snap = b.snapshot(vol)
        put('create_snapshot', n, b.count(b.driver.create_snapshot, snap))
        b.fvg.add_lv(drvmod.snapshot_lv_name(snap), size=GiB,
                     attr='swi-a-s---', origin=vol.name)
        b.fvg.lvs[vol.name]['lv_attr'] = 'owi-a-s---'
        put('delete_snapshot', n, b.count(b.driver.delete_snapshot, snap))
        # the fake VG models the removal: the snapshot is gone
        assert drvmod.snapshot_lv_name(snap) not in b.fvg.lvs
        b.fvg.lvs[vol.name]['lv_attr'] = '-wi-------'
        put('extend_volume', n, b.count(b.driver.extend_volume, vol, 2))
        props = connmod.SharedLVMConnector.get_connector_properties(
            None, execute=b.exe)
        b.exe.reset()
        connmod.SharedLVMConnector.get_connector_properties(
            None, execute=b.exe)
        put('get_connector_properties', n, _summary(b.exe))
        props = dict(props, host='compute-1', multipath=False)
        info = {}

        def init():
            info.update(b.driver.initialize_connection(vol, props))
        put('initialize_connection', n, b.count(init))
        conn = b.connector()
        put('connect_volume', n, b.count(conn.connect_volume, info['data']))
        b.fvg.lvs[vol.name]['lv_attr'] = '-wi-a-----'
        put('disconnect_volume', n, b.count(
            conn.disconnect_volume, info['data'],
            {'type': 'block', 'path': info['data']['device_path']}))
        b.fvg.lvs[vol.name]['lv_attr'] = '-wi-------'
        put('terminate_connection', n, b.count(
            b.driver.terminate_connection, vol, props))
        put('delete_volume', n, b.count(b.driver.delete_volume, vol))
        assert vol.name not in b.fvg.lvs
        put('get_volume_stats(refresh)', n, b.count(
            b.driver.get_volume_stats, refresh=True))
    for key in ('shared_lvm_devices', 'shared_lvm_volume_group',
                'volume_clear', 'volume_backend_name'):
        CONF.clear_override(key, group=BACKEND)
    return {'operations': ops, 'targets': _verdicts(ops, sizes)}


def _verdicts(ops: dict, sizes) -> dict:
    out = {}
    for op, (kind, limit) in TARGETS.items():
        worst = max(ops[op][str(n)][kind] for n in sizes)
        out[op] = {'measure': kind, 'limit': limit, 'worst': worst,
                   'met': worst <= limit}
    stats = [ops['get_volume_stats(refresh)'][str(n)]['total']
             for n in sizes]
    out['get_volume_stats(refresh)'] = {
        'measure': 'total, constant in the LV count', 'limit': stats[0],
        'worst': max(stats), 'met': len(set(stats)) == 1}
    attach = [ops['get_connector_properties'][str(n)]['lvm'] +
              ops['connect_volume'][str(n)]['lvm'] for n in sizes]
    out['compute attach incl. get_connector_properties'] = {
        'measure': 'lvm', 'limit': 2, 'worst': max(attach),
        'met': max(attach) <= 2}
    return out


if __name__ == '__main__':
    import json
    env.start_coordinator()
    print(json.dumps(measure(), indent=1))
