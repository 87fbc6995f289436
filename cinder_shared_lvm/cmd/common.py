"""What every subcommand shares: the host context, errors, formatting."""

import configparser
import dataclasses
import re
from typing import Callable, List, Optional

from oslo_concurrency import processutils

from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm

ENV_PREFIX = list(lvm.SharedLVM.LV_CMD_PREFIX)   # ['env', 'LC_ALL=C']

# The oslo.config defaults of the backend options (cinder_shared_lvm.opts);
# repeated here so the CLI needs neither cinder nor oslo.config parsing.
DEFAULT_VG = 'cinder-shared'
DEFAULT_MIN_FREE_METADATA_PERCENT = 5

# A device path goes into LVM filters and error messages; allow what real
# /dev names use (by-id, by-path, multipath aliases) and nothing that a
# shell, a filter string or a path walk could misread.
_DEVICE_RE = re.compile(r'^/[A-Za-z0-9_.:+@=#/-]+\Z')  # \Z: '$' passes '\n'


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
    if (not _DEVICE_RE.match(path or '') or '/../' in path + '/'
            or '/./' in path + '/' or not path.startswith('/dev/')):
        raise CLIError('Invalid device path %r: give an absolute path under '
                       '/dev/ (for example /dev/disk/by-id/wwn-0x600...). '
                       'Nothing was changed.' % path, exit_code=2)
    return path


def split_devices(value: str) -> List[str]:
    devices = [validate_device(d.strip()) for d in value.split(',')
               if d.strip()]
    if len(set(devices)) != len(devices):
        raise CLIError('A device is listed twice in %r. Nothing was '
                       'changed.' % value, exit_code=2)
    return devices


def read_backend_config(path: str, section: str) -> dict:
    """shared_lvm_* values of a cinder.conf backend section (or devices
    of nova.conf's [shared_lvm] section).

    configparser, not oslo.config: the CLI must not register Cinder's
    options, and on a compute host Cinder is not installed at all.
    """
    # NOTE: no interpolation: cinder.conf holds '%' in logging formats.
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        with open(path, encoding='utf-8') as conf:
            parser.read_file(conf)
    except (OSError, configparser.Error) as err:
        raise CLIError('Cannot read %s: %s' % (path, err))
    if not parser.has_section(section):
        raise CLIError('%s has no [%s] section' % (path, section))
    get = parser[section].get
    # NOTE: nova.conf names a compute host's own paths [shared_lvm] devices
    # (cinder_shared_lvm.nova), so a compute host can point here too.
    result = {'vg': get('shared_lvm_volume_group', DEFAULT_VG),
              'devices': get('shared_lvm_devices', get('devices', ''))}
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
