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

"""The README's code map, checked: what each module may import.

A compute host installs the package without Cinder, so the compute side
and the CLI must never import it; the contract module imports the
standard library only, so that every side can use it.
"""

import ast
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PACKAGE = os.path.join(REPO, 'cinder_shared_lvm')

# module (path under cinder_shared_lvm/) -> top-level packages it must not
# import ('*' = anything outside the standard library).
FORBIDDEN = {
    'contract.py': {'*'},
    'exception.py': {'cinder', 'nova'},
    'lvm.py': {'cinder', 'nova'},
    'vgcache.py': {'cinder', 'nova'},
    'connector.py': {'cinder', 'nova'},
    'brick_registration.py': {'cinder', 'nova'},
    'cmd/': {'cinder', 'nova'},
    'nova/': {'cinder'},
}


def _imports(path):
    """Top-level names of every module *path* imports, at any depth."""
    with open(path, encoding='utf-8') as source:
        tree = ast.parse(source.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split('.')[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split('.')[0]


def _modules():
    for root, _dirs, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith('.py'):
                path = os.path.join(root, name)
                yield os.path.relpath(path, PACKAGE).replace(os.sep, '/')


def _rule(module):
    for key, forbidden in FORBIDDEN.items():
        if module == key or (key.endswith('/') and module.startswith(key)):
            return forbidden
    return set()


@pytest.mark.parametrize('module', [m for m in _modules() if _rule(m)])
def test_module_imports_only_what_the_code_map_allows(module):
    forbidden = _rule(module)
    names = set(_imports(os.path.join(PACKAGE, module)))
    if '*' in forbidden:
        bad = {n for n in names if n not in sys.stdlib_module_names}
    else:
        bad = names & forbidden
    assert not bad, '%s imports %s' % (module, ', '.join(sorted(bad)))


def test_every_rule_names_a_module():
    modules = list(_modules())
    for key in FORBIDDEN:
        assert any(m == key or m.startswith(key) for m in modules), key
