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

"""Bad input (design.rst rule 8): every case tried, with its outcome.

The one list of cases. ``tests/unit/test_bad_input.py`` runs them against
the recording executor (no metadata write, no activation) and checks that
``doc/source/bad_input.rst`` shows exactly the table ``render()`` makes;
``tests/functional/test_bad_input.py`` runs them on the rig (vg_seqno, the
LV list and every host's dm devices unchanged). Rewrite the doc's table
after changing a case with::

    python -m tests.bad_input_cases --regen

Placeholders in inputs are filled per run: ``{vg}`` the backend's VG,
``{volume}`` a managed 2 GiB volume's LV, which has a COW snapshot
``{snapshot}``; ``{legacy}`` an LV not managed by Cinder; ``{vg_uuid}``,
``{lv_uuid}`` (of ``{volume}``) and ``{other_lv_uuid}`` (of ``{legacy}``).
An input that is exactly one placeholder takes the placeholder's value
and type (``{beyond_free}``, ``{extend_beyond_free}``: a new size in GiB
that needs more than the VG's free space but is below the VG's size).
"""

import collections
import os
import re
import sys

MISSING = 'MISSING'      # a connection/connector key that is left out


class Case(collections.namedtuple('Case', 'id op value error where')):
    """One bad input.

    :param op: ``manage`` (manage_existing_get_size and manage_existing),
        ``create`` (create_volume of a volume of that size), ``extend``
        (of ``{volume}``), ``clone`` (a clone of ``{volume}`` of that
        size), ``connect`` (the connector's connect_volume with the
        driver's connection data for ``{volume}``, these keys changed),
        ``initialize`` (the driver's initialize_connection of ``{volume}``
        for this connector)
    :param error: the exception's class name
    :param where: ``both``, or ``rig`` when only a real host shows it
    """

    def __new__(cls, id, op, value, error, where='both'):
        return super(Case, cls).__new__(cls, id, op, value, error, where)


MIR = 'ManageExistingInvalidReference'
ICI = 'InvalidConnectionInfo'

CASES = [
    # -- names given to manage_existing --------------------------------------
    Case('shell-semicolon', 'manage', '; rm -rf /', MIR),
    Case('shell-subst', 'manage', '$(reboot)', MIR),
    Case('shell-backticks', 'manage', '`reboot`', MIR),
    Case('shell-in-name', 'manage', '{legacy};reboot', MIR),
    Case('space-in-name', 'manage', '{legacy} x', MIR),
    Case('dotdot', 'manage', '../{legacy}', MIR),
    Case('vg-dotdot', 'manage', '{vg}/../{legacy}', MIR),
    Case('dev-dotdot', 'manage', '/dev/{vg}/../../dev/vda', MIR),
    Case('dot', 'manage', '.', MIR),
    Case('other-vg-path', 'manage', '/dev/othervg/{legacy}', MIR),
    Case('other-vg-ref', 'manage', 'othervg/{legacy}', MIR),
    Case('host-disk', 'manage', '/dev/vda', MIR),
    Case('too-many-parts', 'manage', '{vg}/{legacy}/x', MIR),
    Case('trailing-slash', 'manage', '{vg}/', MIR),
    Case('option-like', 'manage', '--help', MIR),
    Case('leading-dash', 'manage', '-{legacy}', MIR),
    Case('long-200', 'manage', 'a' * 200, MIR),
    Case('empty', 'manage', '', MIR),
    Case('unicode', 'manage', 'l\u00e9gacy', MIR),
    Case('unicode-digits', 'manage', 'lv\u0663', MIR),
    Case('newline-trailing', 'manage', '{legacy}\n', MIR),
    Case('newline-inside', 'manage', 'leg\nacy', MIR),
    Case('nul', 'manage', 'leg\x00acy', MIR),
    Case('reserved-prefix', 'manage', 'snapshot0', MIR),
    Case('reserved-suffix', 'manage', 'x_tmeta', MIR),
    Case('not-a-string', 'manage', {'source-name': 7}, MIR),
    Case('no-source-name', 'manage', {'source-id': '{legacy}'}, MIR),
    Case('ref-none', 'manage', None, MIR),
    Case('missing-lv', 'manage', 'nosuchlv', MIR),
    Case('cow-snapshot-as-volume', 'manage', '{snapshot}', MIR),
    Case('already-managed', 'manage', '{volume}',
         'ManageExistingAlreadyManaged'),
    # -- sizes ---------------------------------------------------------------
    Case('create-zero', 'create', 0, 'InvalidRequest'),
    Case('create-negative', 'create', -1, 'InvalidRequest'),
    Case('create-absurd', 'create', 10 ** 9, 'InvalidRequest'),
    Case('create-beyond-free', 'create', '{beyond_free}', 'OperationRefused'),
    Case('extend-zero', 'extend', 0, 'InvalidRequest'),
    Case('extend-negative', 'extend', -5, 'InvalidRequest'),
    Case('extend-shrink', 'extend', 1, 'InvalidRequest'),
    Case('extend-absurd', 'extend', 2 ** 63, 'InvalidRequest'),
    Case('extend-beyond-free', 'extend', '{extend_beyond_free}',
         'OperationRefused'),
    Case('extend-float', 'extend', 2.5, 'InvalidRequest'),
    Case('extend-string', 'extend', '3', 'InvalidRequest'),
    Case('extend-none', 'extend', None, 'InvalidRequest'),
    Case('extend-bool', 'extend', True, 'InvalidRequest'),
    Case('clone-smaller', 'clone', 1, 'InvalidRequest'),
    Case('clone-zero', 'clone', 0, 'InvalidRequest'),
    # -- forged or malformed connection data (compute side) ------------------
    Case('other-vg', 'connect', {'vg_name': 'othervg'}, ICI),
    Case('path-escapes-vg', 'connect',
         {'device_path': '/dev/{vg}/../vda'}, ICI),
    Case('path-host-disk', 'connect', {'device_path': '/dev/vda'}, ICI),
    Case('path-other-lv', 'connect', {'device_path': '/dev/{vg}/{legacy}'},
         ICI),
    Case('lv-dotdot', 'connect', {'lv_name': '..',
                                  'device_path': '/dev/{vg}/..'}, ICI),
    Case('lv-other-uuid', 'connect', {'lv_uuid': '{other_lv_uuid}'}, ICI),
    Case('lv-uuid-shell', 'connect', {'lv_uuid': '$(reboot)'}, ICI),
    Case('vg-uuid-newline', 'connect', {'vg_uuid': '{vg_uuid}\n'}, ICI),
    Case('missing-vg-name', 'connect', {'vg_name': MISSING}, ICI),
    Case('missing-devices', 'connect', {'devices': MISSING}, ICI),
    Case('missing-activation', 'connect', {'activation': MISSING}, ICI),
    Case('vg-name-list', 'connect', {'vg_name': ['{vg}']}, ICI),
    Case('devices-string', 'connect', {'devices': '/dev/vda'}, ICI),
    Case('activation-bool', 'connect', {'activation': True}, ICI),
    Case('access-mode-odd', 'connect', {'access_mode': 'rwx'}, ICI),
    Case('device-shell', 'connect', {'devices': ['/dev/vda; reboot']}, ICI),
    Case('device-subst', 'connect', {'devices': ['$(reboot)']}, ICI),
    Case('device-filter-chars', 'connect', {'devices': ['/dev/vda|.*']},
         ICI),
    Case('device-newline', 'connect', {'devices': ['/dev/vda\n']}, ICI),
    Case('device-dotdot', 'connect', {'devices': ['/dev/../dev/vda']}, ICI),
    Case('device-elsewhere', 'connect', {'devices': ['/dev/vdz']},
         'VolumeGroupNotFound', where='rig'),
    Case('lv-missing', 'connect', {'lv_name': 'nosuchlv', 'lv_uuid': MISSING,
                                   'device_path': '/dev/{vg}/nosuchlv'},
         'LVNotFound'),
    Case('lv-is-snapshot', 'connect', {
        'lv_name': '{snapshot}', 'lv_uuid': MISSING,
        'device_path': '/dev/{vg}/{snapshot}'}, ICI),
    Case('family-shared', 'connect', {'activation': 'shared'}, ICI),
    Case('not-a-dict', 'connect', 'x', ICI),
    # -- forged connectors given to initialize_connection --------------------
    Case('no-host', 'initialize', {'host': MISSING}, 'ConnectorRefused'),
    Case('host-empty', 'initialize', {'host': ''}, 'ConnectorRefused'),
    Case('host-a-list', 'initialize', {'host': ['compute-1']},
         'ConnectorRefused'),
    Case('no-vgs', 'initialize', {'shared_lvm_vgs': MISSING},
         'ConnectorRefused'),
    Case('wrong-vg-uuid', 'initialize',
         {'shared_lvm_vgs': ['{other_lv_uuid}']}, 'ConnectorRefused'),
    Case('vgs-a-string', 'initialize',
         {'shared_lvm_vgs': 'x{vg_uuid}x'}, 'ConnectorRefused'),
    Case('connector-none', 'initialize', None, 'ConnectorRefused'),
]


def fill(value, subs: dict):
    """*value* with its placeholders filled (recursively)."""
    if isinstance(value, str):
        match = re.fullmatch(r'\{(\w+)\}', value)
        if match and match.group(1) in subs:
            return subs[match.group(1)]
        return value.format(**subs) if '{' in value else value
    if isinstance(value, dict):
        return {k: fill(v, subs) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, subs) for v in value]
    return value


def patched(base: dict, changes: dict) -> dict:
    """*base* with *changes* applied; MISSING removes a key."""
    out = dict(base)
    for key, value in changes.items():
        if value == MISSING:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def run(case: Case, env) -> None:
    """Run *case*; it must raise. *env* gives driver, connector, objects.

    :param env: has ``driver``, ``volume`` (the ``{volume}`` object),
        ``subs``, ``new_volume(size)``, ``connector()`` (compute side),
        ``connection_data()`` and ``connector_props()`` (good ones)
    """
    value = fill(case.value, env.subs)
    drv = env.driver
    if case.op == 'manage':
        # Cinder asks for the size first, then manages: both must refuse
        vol = env.new_volume(1)
        errors = []
        for call in (drv.manage_existing_get_size, drv.manage_existing):
            try:
                call(vol, value)
            except Exception as err:
                errors.append(err)
            else:
                raise AssertionError('%s accepted %r' % (call.__name__,
                                                         value))
        if type(errors[0]) is not type(errors[1]):
            raise AssertionError('get_size raised %r but manage %r'
                                 % tuple(errors))
        raise errors[1]
    elif case.op == 'create':
        drv.create_volume(env.new_volume(value))
    elif case.op == 'extend':
        drv.extend_volume(env.volume, value)
    elif case.op == 'clone':
        drv.create_cloned_volume(env.new_volume(value), env.volume)
    elif case.op == 'connect':
        data = (patched(env.connection_data(), value)
                if isinstance(value, dict) else value)
        env.connector().connect_volume(data)
    elif case.op == 'initialize':
        props = (patched(env.connector_props(), value)
                 if isinstance(value, dict) else value)
        drv.initialize_connection(env.volume, props)
    else:
        raise ValueError(case.op)


def error_class(name: str):
    from cinder import exception as cinder_exception
    from cinder_shared_lvm import driver_exception
    from cinder_shared_lvm import exception as lvm_exception
    for module in (driver_exception, lvm_exception, cinder_exception):
        if hasattr(module, name):
            return getattr(module, name)
    raise KeyError(name)


# -- the doc's table ----------------------------------------------------------

DOC = os.path.join(os.path.dirname(__file__), '..', 'doc', 'source',
                   'bad_input.rst')
BEGIN = '.. BEGIN GENERATED TABLE (python -m tests.bad_input_cases --regen)'
END = '.. END GENERATED TABLE'
OPS = {'manage': 'manage_existing', 'create': 'create_volume',
       'extend': 'extend_volume', 'clone': 'create_cloned_volume',
       'connect': 'connector connect_volume',
       'initialize': 'initialize_connection'}


def _literal(value) -> str:
    text = repr(value).replace('``', '`\u200b`')
    return '``%s``' % text


def render() -> str:
    lines = [BEGIN, '', '.. list-table::', '   :header-rows: 1',
             '   :widths: 20 20 35 25', '',
             '   * - Case', '     - Operation', '     - Input',
             '     - Outcome (nothing changed)']
    for case in CASES:
        outcome = 'refused: ``%s``' % case.error
        if case.where == 'rig':
            outcome += ' (rig only)'
        lines += ['   * - ``%s``' % case.id, '     - %s' % OPS[case.op],
                  '     - %s' % _literal(case.value),
                  '     - %s' % outcome]
    return '\n'.join(lines + ['', END])


def doc_table() -> str:
    with open(DOC) as f:
        text = f.read()
    return text[text.index(BEGIN):text.index(END) + len(END)]


def regen() -> None:
    with open(DOC) as f:
        text = f.read()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    with open(DOC, 'w') as f:
        f.write(text[:start] + render() + text[end:])


if __name__ == '__main__':
    if sys.argv[1:] == ['--regen']:
        regen()
    else:
        print(render())
