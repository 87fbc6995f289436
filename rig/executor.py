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

"""``processutils.execute``-compatible executor that runs on a rig VM.

The project's code takes an ``execute=`` callable everywhere (design.rst, one
executor); giving it ``RigHost.execute`` makes every LVM, blockdev or dmsetup
command run inside a VM instead of on the test machine.
"""

import logging
import random
import subprocess
import time

from oslo_concurrency import processutils

from rig import channel

LOG = logging.getLogger(__name__)


class HostDown(processutils.ProcessExecutionError):
    """The VM is powered off or its agent stopped answering.

    A subclass of ProcessExecutionError so that code which handles failed
    commands handles a crashed host the same way (exit_code is -1).
    """


class Executor:
    """Mixin: subclasses provide ``name`` and ``_call``."""

    name = None

    def _call(self, script, stdin, timeout):
        """:returns: (rc, stdout bytes, stderr bytes, seconds)"""
        raise NotImplementedError

    def execute(self, *cmd, process_input=None, check_exit_code=True,
                run_as_root=False, root_helper=None, attempts=1,
                delay_on_retry=True, binary=False, env_variables=None,
                timeout=None, log_errors=None, loglevel=logging.DEBUG,
                cwd=None, **ignored):
        """Run argv ``cmd`` on this host, like processutils.execute.

        ``run_as_root``/``root_helper`` are ignored: VMs run everything as
        root, and os-brick's ``sudo cinder-rootwrap ...`` does not exist
        there.

        :returns: (stdout, stderr) as str, or bytes when ``binary``
        :raises ProcessExecutionError: exit code not in ``check_exit_code``
        :raises HostDown: the VM is off or stopped answering
        :raises subprocess.TimeoutExpired: ``timeout`` seconds passed
        """
        cmd = tuple(str(c) for c in cmd)
        if isinstance(check_exit_code, bool):
            codes = [0] if check_exit_code else None
        elif isinstance(check_exit_code, int):
            codes = [check_exit_code]
        else:
            codes = list(check_exit_code)
        if isinstance(process_input, str):
            process_input = process_input.encode()
        script = channel.build_script(cmd, env_variables, cwd or '/')
        text = ' '.join(cmd)
        loglevel = loglevel if isinstance(loglevel, int) else logging.DEBUG
        while True:
            attempts -= 1
            try:
                return self._once(cmd, text, script, process_input, codes,
                                  binary, timeout, loglevel)
            except HostDown:
                raise
            except processutils.ProcessExecutionError:
                if attempts <= 0:
                    raise
                if delay_on_retry:
                    time.sleep(random.uniform(0.2, 2.0))

    def _once(self, cmd, text, script, stdin, codes, binary, timeout,
              loglevel):
        LOG.log(loglevel, '[%s] running: %s', self.name, text)
        try:
            rc, out, err, secs = self._call(script, stdin or b'', timeout)
        except channel.ChannelError as exc:
            LOG.log(loglevel, '[%s] %s: host down: %s', self.name, text, exc)
            raise HostDown(stdout='', stderr=str(exc), exit_code=-1, cmd=text,
                           description='host %s is down' % self.name)
        LOG.log(loglevel, '[%s] %s returned %s in %.3fs', self.name, text, rc,
                secs)
        # NOTE: the agent kills a command that outlives its timeout with
        # SIGKILL (rc 137); report that the way processutils does.
        if timeout and rc == 137 and secs >= timeout - 0.5:
            raise subprocess.TimeoutExpired(list(cmd), timeout, out, err)
        if codes is not None and rc not in codes:
            LOG.log(loglevel, '[%s] %s failed (rc %s)\nstdout: %r\nstderr: %r',
                    self.name, text, rc, out[-2000:], err[-2000:])
            raise processutils.ProcessExecutionError(
                stdout=out.decode(errors='surrogateescape'),
                stderr=err.decode(errors='surrogateescape'),
                exit_code=rc, cmd=text)
        if binary:
            return out, err
        return (out.decode(errors='surrogateescape'),
                err.decode(errors='surrogateescape'))

    def run(self, *cmd, process_input=None, env_variables=None, timeout=None,
            cwd=None):
        """Run argv ``cmd`` and return (rc, stdout bytes, stderr bytes).

        No exit-code check; for callers that want the rc itself.
        """
        if isinstance(process_input, str):
            process_input = process_input.encode()
        script = channel.build_script(cmd, env_variables, cwd or '/')
        try:
            rc, out, err, _ = self._call(script, process_input or b'', timeout)
        except channel.ChannelError as exc:
            raise HostDown(stdout='', stderr=str(exc), exit_code=-1,
                           cmd=' '.join(map(str, cmd)),
                           description='host %s is down' % self.name)
        return rc, out, err

    def __call__(self, *cmd, **kwargs):
        return self.execute(*cmd, **kwargs)

    def dm_tables(self):
        """:returns: dict dm device name -> table line(s), via dmsetup."""
        out, _ = self.execute('dmsetup', 'table')
        tables = {}
        for line in out.splitlines():
            if line.strip() == 'No devices found':
                continue
            name, _, table = line.partition(': ')
            if table:
                tables[name] = (tables[name] + '\n' + table
                                if name in tables else table)
        return tables

    def shell(self, script, **kwargs):
        """Convenience for tests: run a busybox sh snippet."""
        return self.execute('sh', '-c', script, **kwargs)
