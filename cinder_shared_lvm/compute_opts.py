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

"""The compute host's ``[shared_lvm]`` options, without Nova or Cinder.

Both the os-brick connector (which must import neither Nova nor Cinder:
a compute host may have no Cinder, and Cinder's own processes build
connectors too) and Nova's volume driver read them. Nova's volume driver
registers them on Nova's config object; the connector only reads them
when someone registered them, so a Cinder process that builds a
connector gets no stray ``[shared_lvm]`` group.
"""

from typing import Optional

from oslo_config import cfg

GROUP = 'shared_lvm'

compute_opts = [
    cfg.ListOpt('devices',
                default=[],
                help='Paths of the shared PV(s) on this compute host, for '
                     'example /dev/disk/by-id/wwn-0x600a0b80001 or a local '
                     'multipath alias. Every LVM command of the shared_lvm '
                     'connector is confined to them, including the scan '
                     'that reports which shared VGs this host sees. Empty: '
                     'attach and detach use the paths Cinder sends with '
                     'each connection, and that scan relies on the devices '
                     '/global_filter of lvm.conf (see '
                     'etc/cinder-shared-lvm/lvm-compute.conf); without such '
                     'a filter it reads every disk of this host, and a '
                     'warning is logged.'),
    cfg.StrOpt('lock_manager',
               default='none', choices=['none', 'lvmlockd'],
               help='Set to lvmlockd when the Cinder backend sets '
                    'shared_lvm_lock_manager = lvmlockd: this host then '
                    'reports which shared VGs have their lockspace started '
                    'here, and Cinder attaches only to a host whose '
                    'lockspace is started. This host needs sanlock and '
                    'lvmlockd running, global/use_lvmlockd=1, a unique '
                    'local/host_id, and "vgchange --lockstart" of the VG at '
                    'boot (doc/source/admin/lvmlockd.rst).'),
]


def register(conf: cfg.ConfigOpts = cfg.CONF) -> None:
    """Register ``[shared_lvm]`` options on *conf* (idempotent)."""
    conf.register_opts(compute_opts, group=GROUP)


def _registered(name: str, conf: Optional[cfg.ConfigOpts]):
    """``[shared_lvm] <name>``, or None when nobody registered it.

    :param conf: default ``cfg.CONF``, which is Nova's in nova-compute
    """
    conf = cfg.CONF if conf is None else conf
    try:
        return conf[GROUP][name]
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, KeyError,
            AttributeError):
        return None


def configured_devices(conf: Optional[cfg.ConfigOpts] = None
                       ) -> Optional[list]:
    """``[shared_lvm] devices`` if registered and set, else None."""
    devices = _registered('devices', conf)
    return list(devices) if devices else None


def configured_lock_manager(conf: Optional[cfg.ConfigOpts] = None) -> str:
    """``[shared_lvm] lock_manager`` if registered, else 'none'."""
    return _registered('lock_manager', conf) or 'none'
