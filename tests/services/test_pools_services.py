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

"""One backend over two VGs, under the real scheduler (pools.py).

``shared_lvm_volume_groups = svcpa, svcpb`` on the rig's extra LUNs
/dev/vdb and /dev/vdc: ``cinder get-pools`` shows both pools, the
scheduler's creates land in both, each volume's LV is in the VG of the
pool in its host, a clone may cross pools, and ``cinder migrate`` to the
other pool moves the data (the driver's own copy, then the old LV goes).
"""

import io
import os
import re
import time

from cinder_shared_lvm.cmd import main as cli_main
from cinder_shared_lvm import lvm
from rig import RigClient
from tests.services import stack as stackmod

POOLS = {'svcpa': '/dev/vdb', 'svcpb': '/dev/vdc'}
HOST = '%s@%s' % (stackmod.VOLUME_HOST, stackmod.BACKEND)


def _lv_names(node, vg):
    reader = lvm.SharedLVM(vg, [POOLS[vg]], role=lvm.READER,
                           executor=node.execute, check_vg=False)
    return {lv['name'] for lv in reader.list_lvs()}


def _wait(stack, vid, want, timeout=300):
    deadline = time.monotonic() + timeout
    while True:
        res = stack.cli('show', vid, check=False)
        info = stackmod.parse_show(res.stdout) if res.returncode == 0 \
            else {}
        if (want is None and res.returncode != 0) or \
                info.get('status') == want:
            return info
        assert not (info.get('status') or '').startswith('error'), info
        assert time.monotonic() < deadline, (vid, want, info)
        time.sleep(2)


def _lv_sha256(node, vg, lv, mib=4, data=None):
    """sha256 of the LV's first *mib* MiB (written first if *data*), read
    on cinder-node while the volume is available and nobody attaches it.
    """
    ref = '%s/%s' % (vg, lv)
    node.execute('lvchange', '-ay', '--yes', ref)
    try:
        if data is not None:
            node.execute('dd', 'of=/dev/%s' % ref, 'bs=1M', 'oflag=direct',
                         'conv=fsync,notrunc', process_input=data)
        out, _err = node.shell('dd if=/dev/%s bs=1M count=%d iflag=direct '
                               '2>/dev/null | sha256sum' % (ref, mib))
        return out.split()[0]
    finally:
        node.execute('lvchange', '-an', '--yes', ref)


def _migrate_to_the_other_pool(stack, node, vid, host) -> str:
    """cinder migrate to the backend's other pool (the driver copies the
    LV into the other VG); the data must follow. :returns: the new VG."""
    old = host.split('#')[1]
    new, = set(POOLS) - {old}
    lv = 'volume-%s' % vid
    before = _lv_sha256(node, old, lv, data=os.urandom(4 << 20))
    stack.cli('migrate', vid, '%s#%s' % (HOST, new))
    deadline = time.monotonic() + 600
    while True:
        info = stackmod.parse_show(stack.cli('show', vid).stdout)
        state = info.get('migration_status')
        if state == 'success' and info.get('status') == 'available':
            break
        assert state not in ('error', None) or time.monotonic() < deadline, \
            info
        assert state != 'error', info
        time.sleep(3)
    assert info['os-vol-host-attr:host'] == '%s#%s' % (HOST, new)
    assert _lv_sha256(node, new, lv) == before
    return new


def _pool_names(stack):
    deadline = time.monotonic() + 60
    while True:
        names = set(re.findall(r'\|\s*name\s*\|\s*(\S+)\s*\|',
                               stack.cli('get-pools').stdout))
        if len(names) >= len(POOLS) or time.monotonic() > deadline:
            return names
        time.sleep(2)


def test_one_backend_two_vgs_two_pools(services_rig_state):
    client = RigClient(services_rig_state)
    node = client.host(stackmod.VOLUME_HOST)
    for vg, dev in POOLS.items():
        out = io.StringIO()
        assert cli_main.main(['prepare', '--vg', vg, '--devices', dev,
                              '--force'], execute=node.execute,
                             stdout=out, stderr=out) == 0, out.getvalue()
    stack = stackmod.Stack(services_rig_state, pools=POOLS)
    ids = []
    try:
        stack.start()
        stack.cli('type-create', 'shared-a')
        assert _pool_names(stack) == {'%s#%s' % (HOST, vg) for vg in POOLS}
        for i in range(4):
            out = stackmod.parse_show(stack.cli(
                'create', '--name', 'pooled-%d' % i, '1').stdout)
            ids.append(out['id'])
        hosts = {vid: _wait(stack, vid, 'available')[
            'os-vol-host-attr:host'] for vid in ids}
        clone = stackmod.parse_show(stack.cli(
            'create', '--name', 'pooled-clone', '--source-volid', ids[0],
            '1').stdout)['id']
        ids.append(clone)
        hosts[clone] = _wait(stack, clone, 'available')[
            'os-vol-host-attr:host']
        assert {h.split('#')[1] for h in hosts.values()} == set(POOLS)
        for vg in POOLS:
            want = {'volume-%s' % vid for vid, h in hosts.items()
                    if h == '%s#%s' % (HOST, vg)}
            assert _lv_names(node, vg) == want
        moved = _migrate_to_the_other_pool(stack, node, ids[0],
                                           hosts[ids[0]])
        for vg in POOLS:
            assert ('volume-%s' % ids[0] in _lv_names(node, vg)) == (
                vg == moved)
        for vid in ids:
            stack.cli('delete', vid)
        for vid in ids:
            _wait(stack, vid, None)
        ids = []
        assert all(_lv_names(node, vg) == set() for vg in POOLS)
    finally:
        for vid in ids:
            stack.cli('force-delete', vid, check=False)
        stack.cleanup()
        for vg, dev in POOLS.items():
            node.execute('vgremove', '-f', vg, check_exit_code=False)
            node.execute('pvremove', '-ff', '-y', dev, check_exit_code=False)
