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

"""The volume lifecycle on the rig, as ordered steps.

The functional tests run each step as a test; the demo runs them and prints
a table. Each step takes the shared ``State`` and returns a one-line
result; it raises ``AssertionError`` when what it sees on the hosts is
wrong. Data is written and read with O_DIRECT on compute hosts and checked
by sha256, so a step passes only when the bytes on the shared LUN are right.
"""

import os
import uuid

from tests.functional import world as worldmod

C1, C2 = 'compute-1', 'compute-2'
NODE = worldmod.CINDER_NODE
MIB = worldmod.MIB
GIB = 1 << 30
DATA_MIB = 4


class State(object):
    """What the steps share: the world, the volumes and expected sums."""

    def __init__(self, world):
        self.world = world
        self.vols = {}
        self.snaps = {}
        self.sums = {}
        self.images = {}
        self.start_lvs = None


class FakeImageService(object):
    """Just enough of Glance for image_utils: show, download, update."""

    def __init__(self, directory):
        self.directory = directory
        self.images = {}

    def add(self, data: bytes, disk_format='raw') -> str:
        image_id = str(uuid.uuid4())
        self.images[image_id] = {'id': image_id, 'data': data,
                                 'disk_format': disk_format,
                                 'container_format': 'bare',
                                 'size': len(data), 'status': 'active'}
        return image_id

    def show(self, context, image_id):
        meta = dict(self.images[image_id])
        meta.pop('data')
        return meta

    def download(self, context, image_id, data=None):
        data.write(self.images[image_id]['data'])

    def update(self, context, image_id, image_meta, data=None, **kwargs):
        self.images[image_id]['data'] = data.read()
        return self.show(context, image_id)


def step(host):
    """Mark a function as a lifecycle step that runs on *host*."""
    def wrap(func):
        func.host = host
        return func
    return wrap


@step(NODE)
def prepare_vg(s):
    """Operator CLI 'prepare' makes the shared VG; the driver sets up."""
    s.world.prepare_vg()
    drv = s.world.setup_driver()
    s.start_lvs = s.world.lvs()
    pool = drv.get_volume_stats(refresh=True)['pools'][0]
    return 'VG %s: %.1f GiB free, metadata area %.0f%% free' % (
        s.world.vg_name, pool['free_capacity_gb'],
        pool['metadata_free_percent'])


@step(NODE)
def create_volume(s):
    vol = s.vols['A'] = s.world.volume(size=1)
    s.world.driver.create_volume(vol)
    lv = s.world.lvs()[vol.name]
    assert lv['size_bytes'] == GIB and not lv['active'], lv
    return '%s: 1 GiB, inactive on cinder-node' % vol.name


@step(C1)
def attach_write_detach(s):
    vol = s.vols['A']
    with s.world.attached(vol, C1) as path:
        data = worldmod.pattern('A1', DATA_MIB * MIB)
        s.sums['A1'] = s.world.write(C1, path, data)
        assert s.world.checksum(C1, path, DATA_MIB) == s.sums['A1']
    assert vol.name not in [lv for lv, r in s.world.lvs(C1).items()
                            if r['active']]
    return 'wrote %d MiB, sha256 %s..., detached' % (DATA_MIB,
                                                     s.sums['A1'][:12])


@step(NODE)
def snapshot(s):
    snap = s.snaps['S'] = s.world.snapshot(s.vols['A'])
    s.world.driver.create_snapshot(snap)
    lvs = s.world.lvs()
    snap_lv = '_' + snap.name
    assert lvs[snap_lv]['origin'] == s.vols['A'].name, lvs[snap_lv]
    return '%s (COW) of %s' % (snap_lv, s.vols['A'].name)


@step(C1)
def write_after_snapshot(s):
    """The origin changes on compute-1; the snapshot must keep old data."""
    vol = s.vols['A']
    with s.world.attached(vol, C1) as path:
        data = worldmod.pattern('A2', DATA_MIB * MIB)
        s.sums['A2'] = s.world.write(C1, path, data)
    return 'origin now sha256 %s... (family active on compute-1 only)' % (
        s.sums['A2'][:12])


@step(NODE)
def volume_from_snapshot(s):
    snap = s.snaps['S']
    for key, size in (('B', 1), ('C', 2)):
        vol = s.vols[key] = s.world.volume(size=size)
        s.world.driver.create_volume_from_snapshot(vol, snap)
    lvs = s.world.lvs()
    assert lvs[s.vols['C'].name]['size_bytes'] == 2 * GIB
    return 'B (1 GiB) and C (2 GiB) from the snapshot'


@step(NODE)
def clone(s):
    vol = s.vols['D'] = s.world.volume(size=1)
    s.world.driver.create_cloned_volume(vol, s.vols['A'])
    return 'D cloned from A'


@step(C2)
def verify_on_compute2(s):
    """Each new volume holds exactly what it should, read on compute-2."""
    expect = {'B': s.sums['A1'], 'C': s.sums['A1'], 'D': s.sums['A2']}
    for key, want in sorted(expect.items()):
        with s.world.attached(s.vols[key], C2) as path:
            got = s.world.checksum(C2, path, DATA_MIB)
            assert got == want, (key, got, want)
            size = s.world.device_size(C2, path)
            assert size == s.vols[key].size * GIB, (key, size)
    return 'B, C = snapshot data; D = origin data; sizes right'


@step(C1)
def online_extend(s):
    vol = s.vols['D']
    path = s.world.attach(vol, C1)
    try:
        s.world.driver.extend_volume(vol, 2)
        vol.size = 2
        info = s.world._attachment(vol, C1).connection_info
        new_size = s.world.connector(C1).extend_volume(info['data'])
        assert new_size == 2 * GIB, new_size
        assert s.world.device_size(C1, path) == 2 * GIB
        assert s.world.checksum(C1, path, DATA_MIB) == s.sums['A2']
    finally:
        s.world.detach(vol, C1)
    return 'D 1 -> 2 GiB while attached; compute-1 sees 2 GiB, data intact'


@step(C1 + '+' + C2)
def multi_attach(s):
    vol = s.vols['D']
    p1 = s.world.attach(vol, C1)
    try:
        p2 = s.world.attach(vol, C2)
        try:
            want = s.world.write(C1, p1, worldmod.pattern('D-multi', MIB),
                                 offset_mib=100)
            got = s.world.checksum(C2, p2, 1, offset_mib=100)
            assert got == want, (got, want)
        finally:
            s.world.detach(vol, C2)
    finally:
        s.world.detach(vol, C1)
    return 'D on both computes; compute-2 reads what compute-1 wrote'


@step(NODE)
def revert_to_snapshot(s):
    vol, snap = s.vols['A'], s.snaps['S']
    s.world.driver.revert_to_snapshot(s.world.ctx, vol, snap)
    with s.world.attached(vol, C2) as path:
        got = s.world.checksum(C2, path, DATA_MIB)
    assert got == s.sums['A1'], got
    assert '_' + snap.name in s.world.lvs(), 'snapshot not recreated'
    return 'A back to the snapshot data; snapshot kept'


@step(NODE)
def image_to_volume_and_back(s):
    images = FakeImageService(s.world.rig.share_dir)
    data = worldmod.pattern('image', 2 * MIB)
    image_id = images.add(data)
    vol = s.vols['E'] = s.world.volume(size=1)
    s.world.driver.create_volume(vol)
    s.world.driver.copy_image_to_volume(s.world.ctx, vol, images, image_id)
    with s.world.attached(vol, C1) as path:
        got = s.world.checksum(C1, path, 2)
    assert got == worldmod.sha256(data), got
    out_id = images.add(b'')
    s.world.driver.copy_volume_to_image(s.world.ctx, vol, images,
                                        images.show(None, out_id))
    uploaded = images.images[out_id]['data']
    assert len(uploaded) == GIB, len(uploaded)
    assert worldmod.sha256(uploaded[:2 * MIB]) == worldmod.sha256(data)
    return '2 MiB raw image -> E -> 1 GiB image, checksums match'


@step(NODE)
def manage_unmanage(s):
    node = s.world.node()
    vg = s.world.vg_name
    node.execute('lvcreate', '-an', '-Zn', '-n', 'legacy-data', '-L', '8m',
                 '--yes', vg)
    node.execute('lvchange', '-ay', '%s/legacy-data' % vg)
    try:
        want = s.world.write(NODE, '/dev/%s/legacy-data' % vg,
                             worldmod.pattern('legacy', MIB))
    finally:
        node.execute('lvchange', '-an', '%s/legacy-data' % vg)
    vol = s.vols['F'] = s.world.volume(size=1)
    ref = {'source-name': 'legacy-data'}
    size = s.world.driver.manage_existing_get_size(vol, ref)
    s.world.driver.manage_existing(vol, ref)
    with s.world.attached(vol, C1) as path:
        got = s.world.checksum(C1, path, 1)
    assert got == want and vol.name in s.world.lvs()
    s.world.driver.unmanage(vol)
    assert vol.name in s.world.lvs(), 'unmanage must keep the LV'
    return 'legacy-data managed as %d GiB %s, data intact, unmanaged' % (
        size, vol.name)


@step('all')
def delete_everything(s):
    drv = s.world.driver
    drv.delete_snapshot(s.snaps['S'])
    for key in sorted(s.vols):
        drv.delete_volume(s.vols[key])
    assert s.world.lvs() == s.start_lvs, s.world.lvs()
    check = s.world.vgck()
    stale = s.world.stale_dm_devices()
    assert not stale, stale
    return 'VG back to its start; vgck clean%s; no stale dm devices' % (
        (': ' + check) if check else '')


STEPS = [prepare_vg, create_volume, attach_write_detach, snapshot,
         write_after_snapshot, volume_from_snapshot, clone,
         verify_on_compute2, online_extend, multi_attach,
         revert_to_snapshot, image_to_volume_and_back, manage_unmanage,
         delete_everything]


def share_tmp(world):
    """image_conversion_dir on the rig's share, seen by every VM."""
    path = os.path.join(world.rig.share_dir, 'conversion')
    os.makedirs(path, exist_ok=True)
    return path
