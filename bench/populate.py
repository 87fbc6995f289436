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

"""Fill a VG with thousands of LVs in one metadata write.

One ``lvcreate`` per LV costs 40-100 ms here and seconds under TCG, so
5,000 of them would take the whole benchmark budget. Instead: back the VG
up (``vgcfgbackup``), write N inactive, non-autoactivated 1-extent LVs into
its metadata text and restore it (``vgcfgrestore``): one metadata write,
whatever N. The LVs are as ``lvcreate -an -Zn --setautoactivation n``
would make them (same flags, same one linear segment).
"""

import random
import re
import string
import time

FILL_PREFIX = 'fill'
_ALNUM = string.ascii_letters + string.digits


def lvm_uuid(rng: random.Random) -> str:
    chars = ''.join(rng.choice(_ALNUM) for _ in range(32))
    cuts = (6, 4, 4, 4, 4, 4, 6)
    parts, pos = [], 0
    for c in cuts:
        parts.append(chars[pos:pos + c])
        pos += c
    return '-'.join(parts)


_LV = '''
\t\t%(name)s {
\t\t\tid = "%(id)s"
\t\t\tstatus = ["READ", "WRITE", "VISIBLE"]
\t\t\tflags = ["NOAUTOACTIVATE"]
\t\t\tcreation_time = %(now)d
\t\t\tcreation_host = "bench"
\t\t\tsegment_count = 1

\t\t\tsegment1 {
\t\t\t\tstart_extent = 0
\t\t\t\textent_count = 1

\t\t\t\ttype = "striped"
\t\t\t\tstripe_count = 1

\t\t\t\tstripes = [
\t\t\t\t\t"%(pv)s", %(pe)d
\t\t\t\t]
\t\t\t}
\t\t}
'''


def _block_end(text: str, start: int) -> int:
    """Index just past the '}' closing the block opened at/after *start*."""
    depth = 0
    i = text.index('{', start)
    while True:
        ch = text[i]
        if ch == '{':
            depth += 1
        elif ch == '}':
            depth -= 1
            if depth == 0:
                return i + 1
        elif ch == '"':
            i = text.index('"', i + 1)
        i += 1


def fill_metadata(text: str, n: int, seed: int = 1) -> str:
    """Metadata text of the VG with exactly *n* filler LVs and nothing else.

    :raises ValueError: the VG holds LVs other than fillers
    """
    rng = random.Random(seed)
    lv_start = text.find('\tlogical_volumes {')
    if lv_start >= 0:
        end = _block_end(text, lv_start)
        names = re.findall(r'^\t\t(\S+) \{$', text[lv_start:end], re.M)
        others = [x for x in names if not x.startswith(FILL_PREFIX)]
        if others:
            raise ValueError('VG holds LVs other than fillers: %s' % others)
        text = text[:lv_start] + text[end:]
    pv_start = text.index('\tphysical_volumes {')
    pv_end = _block_end(text, pv_start)
    pv_block = text[pv_start:pv_end]
    pv = re.search(r'^\t\t(\S+) \{$', pv_block, re.M).group(1)
    pe_count = int(re.search(r'pe_count = (\d+)', pv_block).group(1))
    if n > pe_count:
        raise ValueError('%d LVs need %d extents; the PV has %d' % (
            n, n, pe_count))
    now = int(time.time())
    lvs = ''.join(_LV % {'name': '%s%06d' % (FILL_PREFIX, i),
                         'id': lvm_uuid(rng), 'now': now, 'pv': pv,
                         'pe': i} for i in range(n))
    section = '\n\tlogical_volumes {\n%s\t}\n' % lvs if n else ''
    return text[:pv_end] + '\n' + section + text[pv_end:]


def populate(execute, vg: str, config: str, n: int, local_path: str,
             remote_path: str = None) -> float:
    """Give *vg* exactly *n* filler LVs; return the seconds it took.

    :param execute: executor of the host that sees the VG
    :param config: the ``--config`` string every command carries
    :param local_path: where this process reads and writes the backup
    :param remote_path: the same file as the executor's host sees it
    """
    remote_path = remote_path or local_path
    t0 = time.monotonic()
    execute('vgcfgbackup', '--config', config, '-f', remote_path, vg,
            run_as_root=True)
    with open(local_path) as f:
        text = f.read()
    with open(local_path, 'w') as f:
        f.write(fill_metadata(text, n))
    execute('vgcfgrestore', '--config', config, '-f', remote_path, vg,
            run_as_root=True)
    return time.monotonic() - t0
