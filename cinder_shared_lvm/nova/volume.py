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

"""Nova libvirt volume driver for ``driver_volume_type = 'shared_lvm'``.

The guest gets the LV's device node as a raw block disk. The connector
(``cinder_shared_lvm.connector.SharedLVMConnector``, through os-brick's
factory) activates the LV on this host on connect and deactivates it on
disconnect; this driver only hands its result to libvirt.
"""

from os_brick.initiator import connector as brick_connector
from oslo_log import log as logging

import nova.conf
from nova import exception
from nova import utils
from nova.virt.libvirt.volume import volume as libvirt_volume

from cinder_shared_lvm import brick_registration
from cinder_shared_lvm import compute_opts
from cinder_shared_lvm import contract

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

# NOTE: registering after nova.conf was parsed is fine: oslo.config reads
# a late group's values from the files already loaded. The options live in
# a Nova-free module because the connector reads them too.
compute_opts.register(CONF)

# Cache modes that open the device with O_DIRECT, so that this host's page
# cache never holds blocks of a LUN that other hosts write.
_DIRECT_CACHE_MODES = ('none', 'directsync')


def _warn_about_host_cache() -> None:
    # NOTE: LibvirtDriver._get_volume_config() applies [libvirt]
    # disk_cachemodes after get_config(), keyed by source type, so a
    # 'block=writeback' there overrides the 'none' set below. Nova's
    # own check (LP #1841363) then only downgrades io=native to threads.
    for mode in CONF.libvirt.disk_cachemodes:
        source_type, _sep, cache = mode.partition('=')
        if source_type == 'block' and cache not in _DIRECT_CACHE_MODES:
            LOG.warning('[libvirt] disk_cachemodes sets block=%s; shared_lvm '
                        'volumes then use the host page cache on a LUN that '
                        'other hosts write, and live migration needs '
                        'cache=none. Use block=none or block=directsync.',
                        cache)


class LibvirtSharedLVMVolumeDriver(libvirt_volume.LibvirtBaseVolumeDriver):
    """Attach an LV of a shared volume group as a raw block disk."""

    def __init__(self, host):
        super().__init__(host, is_block_dev=True)
        # NOTE: registration is idempotent; doing it here means the driver
        # works even if only Nova's VOLUME_DRIVERS entry was added.
        brick_registration.register()
        self.connector = brick_connector.InitiatorConnector.factory(
            contract.PROTOCOL, utils.get_root_helper(),
            device_scan_attempts=CONF.libvirt.num_volume_scan_tries,
            shared_lvm_devices=CONF.shared_lvm.devices or None)
        _warn_about_host_cache()

    def get_config(self, connection_info, disk_info):
        """The libvirt disk: the LV's device node, raw, no host cache.

        The base class handles ``access_mode`` (``ro`` gives
        ``<readonly/>``), ``discard`` (``discard='unmap'``), ``multiattach``
        (``<shareable/>``), QoS, block sizes and the serial.
        """
        conf = super().get_config(connection_info, disk_info)
        conf.source_type = 'block'
        conf.source_path = connection_info['data']['device_path']
        conf.driver_format = 'raw'
        # NOTE: O_DIRECT is required on shared storage: a host page cache
        # would hold stale blocks after another host (a live migration
        # peer, or cinder-volume copying data) wrote the LV.
        conf.driver_cache = 'none'
        if not CONF.libvirt.use_default_aio_mode_for_volumes:
            conf.driver_io = 'native'
        return conf

    def connect_volume(self, connection_info, instance):
        """Activate the LV on this host and record its device path."""
        LOG.debug('Calling os-brick to attach shared LVM volume',
                  instance=instance)
        device_info = self.connector.connect_volume(connection_info['data'])
        LOG.debug('Attached shared LVM volume %s', device_info,
                  instance=instance)
        connection_info['data']['device_path'] = device_info['path']

    def disconnect_volume(self, connection_info, instance, force=False):
        """Flush and deactivate the LV on this host."""
        data = connection_info['data']
        device_info = None
        if data.get('device_path'):
            device_info = {'type': 'block', 'path': data['device_path']}
        LOG.debug('Calling os-brick to detach shared LVM volume',
                  instance=instance)
        self.connector.disconnect_volume(data, device_info, force=force)
        LOG.debug('Disconnected shared LVM volume', instance=instance)
        super().disconnect_volume(connection_info, instance, force=force)

    def extend_volume(self, connection_info, instance, requested_size):
        """Reload the LV's table here; return its new size in bytes.

        :raises VolumeExtendFailed: the LV this host sees is smaller than
            *requested_size*; Nova would otherwise resize the guest's disk
            to a stale size
        """
        LOG.debug('Calling os-brick to extend shared LVM volume',
                  instance=instance)
        new_size = self.connector.extend_volume(connection_info['data'])
        LOG.debug('Extended shared LVM volume: new_size=%s', new_size,
                  instance=instance)
        if (new_size is not None and requested_size and
                new_size < requested_size):
            raise exception.VolumeExtendFailed(
                volume_id=connection_info['data'].get('volume_id'),
                reason='this host sees %d bytes after the refresh, less '
                       'than the %d requested; the LV metadata it read is '
                       'stale' % (new_size, requested_size))
        return new_size
