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

"""Make one command fail on a rig host, once, mid-operation.

``install(host, 'lvcreate')`` puts a wrapper in place of the command in the
guest (its root file system is in RAM: a reboot removes it). The wrapper
runs the real command unless ``arm`` left a trigger file; then it lets
``after`` more calls pass, fails the next ``times`` ones with exit code
``rc`` and a stderr line naming itself, and disarms. Commands run
through ``env`` (the LVM layer's prefix) find the wrapper through PATH
like any other.
"""

import shlex

FAIL_DIR = '/run/cslvm-fail'
MARK = 'cslvm-inject'

_WRAPPER = '''#!/bin/sh
# %(mark)s: fail once when armed (tests/functional/inject.py)
f=%(dir)s/%(name)s
if [ -e "$f" ]; then
    read -r n t < "$f"
    if [ "$n" -le 0 ]; then
        if [ "$t" -le 1 ]; then rm -f "$f"
        else echo "0 $((t - 1))" > "$f"; fi
        echo "%(mark)s: injected failure of %(name)s" >&2
        exit %(rc)d
    fi
    echo "$((n - 1)) $t" > "$f"
fi
exec %(real)s "$@"
'''


def install(host, name: str, rc: int = 5) -> None:
    """Wrap *name* on *host*; idempotent."""
    # NOTE: busybox's shell runs its own applets (dd, tee...) without a
    # PATH lookup, so only a real file can be wrapped.
    script = (
        'set -e; p=$(command -v %(n)s); '
        'case "$p" in /*) ;; *) echo "%(n)s is a shell applet here: it '
        'cannot be wrapped" >&2; exit 3 ;; esac; '
        'if grep -q %(mark)s "$p" 2>/dev/null; then exit 0; fi; '
        't=$(readlink -f "$p"); b=$(basename "$t"); '
        'case "$b" in lvm) real="lvm %(n)s" ;; busybox) real="busybox %(n)s"'
        ' ;; *) cp "$t" "$p.real"; real="$p.real" ;; esac; '
        'rm -f "$p"; printf "%%s" "$W" | sed "s|@REAL@|$real|" > "$p"; '
        'chmod 755 "$p"' % {'n': shlex.quote(name), 'mark': MARK})
    wrapper = _WRAPPER % {'mark': MARK, 'dir': FAIL_DIR, 'name': name,
                          'rc': rc, 'real': '@REAL@'}
    host.execute('sh', '-c', script, env_variables={'W': wrapper})


def arm(host, name: str, after: int = 0, times: int = 1) -> None:
    """Fail *times* calls of *name* in a row, after *after* passing ones."""
    host.shell('mkdir -p %s && echo "%d %d" > %s/%s' % (
        FAIL_DIR, after, times, FAIL_DIR, shlex.quote(name)))


def disarm(host, name: str) -> bool:
    """Remove the trigger; True if it was still armed (never fired)."""
    out, _err = host.shell('if [ -e %(d)s/%(n)s ]; then rm -f %(d)s/%(n)s;'
                           ' echo armed; fi' % {'d': FAIL_DIR,
                                                'n': shlex.quote(name)})
    return 'armed' in out
