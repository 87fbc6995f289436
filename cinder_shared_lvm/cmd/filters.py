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

"""``rootwrap-filters``: the cinder-rootwrap filters of one backend.

The filters pin the VG, the exact ``--config`` built from its devices and
image_conversion_dir (see ``cinder_shared_lvm.rootwrap_filters``), so they
are generated on the cinder-volume host from its cinder.conf. It runs no
command, except one ``pvs`` for a backend with several VGs (to learn which
device holds which VG).
"""

import configparser
import os

from cinder_shared_lvm.cmd import common
from cinder_shared_lvm import exception
from cinder_shared_lvm import lockd
from cinder_shared_lvm import lvm
from cinder_shared_lvm import rootwrap_filters

# The sample shipped in etc/, for the default VG on an example device;
# tests/unit/test_rootwrap.py checks that it is this module's output.
SAMPLE_PATH = 'etc/cinder-shared-lvm/cinder-volume-shared-lvm.filters.sample'
SAMPLE_VG = common.DEFAULT_VG
SAMPLE_DEVICES = ('/dev/mapper/mpatha',)

_STATE_PATH = '/var/lib/cinder'


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        'rootwrap-filters', parents=parents,
        help='print the cinder-rootwrap filters for a backend',
        description='Print (or write) the cinder-rootwrap filter file for '
                    'one shared-LVM backend of this cinder-volume host. '
                    'Every filter pins every argument, so the file names '
                    'the VG, its devices and image_conversion_dir: '
                    'regenerate it after changing any of them. Install it '
                    'in /etc/cinder/rootwrap.d/ (one file per backend). '
                    'Compute hosts need no filters. Runs no command.')
    parser.add_argument('--image-conversion-dir', metavar='PATH',
                        help='Cinder\'s image_conversion_dir (default: '
                             'from --config-file, else %s/conversion)'
                             % _STATE_PATH)
    parser.add_argument('--vg-uuid', metavar='UUID',
                        help='the VG\'s UUID ("vgs --noheadings -o vg_uuid '
                             'VG"): dmsetup may then act by dm UUID on '
                             'this VG\'s devices only')
    parser.add_argument('--lock-manager', choices=lockd.LOCK_MANAGERS,
                        default=lockd.NONE,
                        help='the backend\'s shared_lvm_lock_manager: '
                             'lvmlockd adds the shared activation and the '
                             'lockspace start of that mode (default: '
                             '%(default)s)')
    parser.add_argument('--output', metavar='PATH',
                        help='write the file here instead of printing it')
    parser.set_defaults(func=run, default_role=lvm.WRITER)
    return parser


def config_files(args) -> list:
    """The cinder.conf files the options name, in oslo.config's order."""
    files = args.config_file or []
    files = [files] if isinstance(files, str) else list(files)
    if getattr(args, 'config_dir', None):
        files = common.config_paths(files, args.config_dir)
    return files


def image_conversion_dir(paths: list) -> str:
    """cinder.conf's image_conversion_dir, as oslo.config would read it.

    A later file overrides an earlier one, as in oslo.config.
    """
    # NOTE: no interpolation: cinder.conf holds '%' in logging formats;
    # '$state_path' is oslo.config's own substitution, done here.
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    for path in paths:
        try:
            with open(path, encoding='utf-8') as conf:
                parser.read_file(conf)
        except (OSError, configparser.Error) as err:
            raise common.CLIError('Cannot read %s: %s' % (path, err))
    defaults = parser.defaults()
    state_path = defaults.get('state_path', _STATE_PATH)
    value = defaults.get('image_conversion_dir', '$state_path/conversion')
    return value.replace('${state_path}', state_path).replace(
        '$state_path', state_path)


def sample_text() -> str:
    """What etc/ ships: the filters for the default VG and image dir."""
    return rootwrap_filters.generate(
        [rootwrap_filters.Backend(SAMPLE_VG, SAMPLE_DEVICES)])


def run(ctx: common.Context, args) -> common.Outcome:
    if ctx.extra_config:
        raise common.CLIError('--lvm-extra-config is for tests only and '
                              'never goes into root filters. Nothing was '
                              'written.', exit_code=2)
    image_dir = (args.image_conversion_dir or
                 image_conversion_dir(config_files(args)))
    try:
        backends = _backends(ctx, args)
        text = rootwrap_filters.generate(backends, image_dir)
    except exception.SharedLVMError as err:
        raise common.CLIError('%s. Nothing was written.' % err,
                              exit_code=2)
    data = {'vg': ', '.join(b.vg for b in backends),
            'devices': list(ctx.devices),
            'vg_uuid': args.vg_uuid,
            'image_conversion_dir': image_dir.rstrip('/'),
            'filters': len([line for line in text.splitlines()
                            if line and line[0] not in '#[']),
            'path': args.output}
    if not args.output:
        return common.Outcome(0, dict(data, text=text),
                              text.splitlines())
    tmp = args.output + '.tmp'
    # NOTE: written whole, then renamed: cinder-rootwrap reads the
    # directory on every call and must never see half a file.
    with open(tmp, 'w', encoding='utf-8') as out:
        out.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, args.output)
    return common.Outcome(0, data, [
        'Wrote %d filters for VG %s to %s' % (data['filters'], data['vg'],
                                              args.output)])


def _backends(ctx: common.Context, args) -> list:
    """One filter block per VG. A backend with several VGs runs one
    ``pvs`` to learn each VG's own devices: the driver confines each VG's
    commands to them, and the filters pin that exact --config."""
    if not ctx.pools:
        return [rootwrap_filters.Backend(ctx.vg, tuple(ctx.devices),
                                         args.vg_uuid, args.lock_manager)]
    split = lvm.devices_by_vg(ctx.devices, ctx.pools, executor=ctx.execute,
                              root_helper=ctx.root_helper)
    return [rootwrap_filters.Backend(vg, tuple(split[vg]), None,
                                     args.lock_manager)
            for vg in ctx.pools]
