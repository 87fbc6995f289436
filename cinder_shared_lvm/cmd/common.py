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

"""What every subcommand shares: the host context, errors, formatting."""

import configparser
import dataclasses
import os
from typing import Callable, List, Optional

from oslo_concurrency import processutils

from cinder_shared_lvm import contract
from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm

ENV_PREFIX = list(lvm.SharedLVM.LV_CMD_PREFIX)   # ['env', 'LC_ALL=C']

# The oslo.config defaults of the backend options (cinder_shared_lvm.opts);
# repeated here so the CLI needs neither cinder nor oslo.config parsing.
DEFAULT_VG = 'cinder-shared'
DEFAULT_MIN_FREE_METADATA_PERCENT = 5
# Cinder's section of values every backend section inherits.
BACKEND_DEFAULTS = 'backend_defaults'


class CLIError(Exception):
    """A failure to report on one line; ``exit_code`` 2 means bad input."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@dataclasses.dataclass
class Outcome:
    """What a subcommand returns: exit code, JSON data and text lines."""
    exit_code: int
    data: dict
    lines: List[str]


@dataclasses.dataclass
class Context:
    """The shared VG as this invocation sees it, and the one executor."""
    vg: str
    devices: List[str]
    role: str
    execute: Callable
    root_helper: Optional[str] = None
    extra_config: str = ''
    min_free_metadata_percent: int = DEFAULT_MIN_FREE_METADATA_PERCENT
    # Every VG of a backend with several (shared_lvm_volume_groups).
    pools: List[str] = dataclasses.field(default_factory=list)

    def shared_lvm(self, role: Optional[str] = None) -> lvm.SharedLVM:
        """A SharedLVM for the VG; it does not read the VG on creation."""
        return lvm.SharedLVM(self.vg, self.devices, role=role or self.role,
                             executor=self.execute,
                             root_helper=self.root_helper, check_vg=False,
                             extra_config=self.extra_config)

    def run(self, *argv: str, check_exit_code=True) -> tuple:
        """Run one host command as root through the executor."""
        return self.execute(*argv, root_helper=self.root_helper,
                            run_as_root=True,
                            check_exit_code=check_exit_code)

    def run_lvm(self, shared: lvm.SharedLVM, command: str,
                *args: str) -> tuple:
        """Run an LVM command with *shared*'s ``--config``; typed errors."""
        try:
            return self.run(*shared.lvm_argv(command, *args))
        except processutils.ProcessExecutionError as err:
            raise exception.LVMCommandFailed(
                command=command, target=shared.vg_name,
                exit_code=err.exit_code,
                stderr=(err.stderr or '').strip()) from err


def validate_device(path: str) -> str:
    problem = contract.device_path_problem(path)
    if problem:
        raise CLIError('Invalid device path %r: %s; give the path under '
                       '/dev/ (for example /dev/disk/by-id/wwn-0x600...). '
                       'Nothing was changed.' % (path, problem), exit_code=2)
    return path


def split_devices(value: str) -> List[str]:
    devices = [validate_device(d.strip()) for d in value.split(',')
               if d.strip()]
    if len(set(devices)) != len(devices):
        raise CLIError('A device is listed twice in %r. Nothing was '
                       'changed.' % value, exit_code=2)
    return devices


def config_paths(files: List[str], config_dir: Optional[str]) -> List[str]:
    """The files oslo.config would read, in its order: each --config-file,
    then the ``*.conf`` files of --config-dir sorted by name."""
    paths = list(files)
    if config_dir:
        try:
            names = sorted(os.listdir(config_dir))
        except OSError as err:
            raise CLIError('Cannot read --config-dir %s: %s'
                           % (config_dir, err.strerror), exit_code=2)
        paths += [os.path.join(config_dir, n) for n in names
                  if n.endswith('.conf')]
    return paths


def read_backend_config(paths: List[str], section: str) -> dict:
    """shared_lvm_* values of a cinder.conf backend section (or devices
    of nova.conf's [shared_lvm] section).

    As in Cinder, a later file overrides an earlier one, and a value the
    backend section leaves out comes from [backend_defaults].
    configparser, not oslo.config: the CLI must not register Cinder's
    options, and on a compute host Cinder is not installed at all.
    """
    # NOTE: no interpolation: cinder.conf holds '%' in logging formats.
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    for path in paths:
        try:
            with open(path, encoding='utf-8') as conf:
                parser.read_file(conf)
        except OSError as err:
            raise CLIError('Cannot read %s: %s' % (path, err.strerror),
                           exit_code=2)
        except configparser.Error as err:
            raise CLIError('Cannot parse %s: %s' % (path, err), exit_code=2)
    if not parser.has_section(section):
        raise CLIError('No [%s] section in %s' % (section, ', '.join(paths)),
                       exit_code=2)

    def get(key, default=None):
        for name in (section, BACKEND_DEFAULTS):
            if parser.has_option(name, key):
                return parser.get(name, key)
        return default

    # NOTE: nova.conf names a compute host's own paths [shared_lvm] devices
    # (cinder_shared_lvm.nova), so a compute host can point here too.
    result = {'vg': get('shared_lvm_volume_group', DEFAULT_VG),
              'devices': get('shared_lvm_devices', get('devices', '')),
              'pools': [vg.strip() for vg in get(
                  'shared_lvm_volume_groups', '').split(',') if vg.strip()]}
    percent = get('shared_lvm_min_free_metadata_percent')
    if percent is not None:
        try:
            result['min_free_metadata_percent'] = int(percent)
        except ValueError:
            raise CLIError('shared_lvm_min_free_metadata_percent in [%s] '
                           'is not an integer: %r' % (section, percent))
    return result


def last_line(err: Exception) -> str:
    """The last line of a command's stderr, else the error itself."""
    text = (getattr(err, 'stderr', None) or str(err)).strip()
    return text.splitlines()[-1] if text else type(err).__name__


def human_size(size_bytes: int) -> str:
    """Binary units, two decimals: what an operator compares with lvs."""
    value = float(size_bytes)
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if value < 1024 or unit == 'TiB':
            return ('%d %s' % (value, unit) if unit == 'B'
                    else '%.2f %s' % (value, unit))
        value /= 1024
    return '%d B' % size_bytes   # not reached


def metadata_free_percent(vg_row: dict) -> float:
    """Free share of the usable metadata area (see lvm.py), in percent."""
    return lvm.metadata_free_percent(vg_row['vg_mda_size'],
                                     vg_row['vg_mda_free'])


def table(headers: list, rows: list) -> List[str]:
    """Left-aligned columns, two spaces apart."""
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return ['  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
            for r in cells]
