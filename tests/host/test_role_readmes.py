# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role READMEs carry the variable table generated from meta/argument_specs.yml, up to date."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, 'scripts', 'role_readme.py')


def test_role_readmes_match_argument_specs():
    proc = subprocess.run([sys.executable, SCRIPT, '--check'], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, 'run python scripts/role_readme.py: ' + proc.stdout + proc.stderr


def test_every_role_option_is_in_its_readme():
    import yaml
    roles = os.path.join(ROOT, 'roles')
    for role in os.listdir(roles):
        with open(os.path.join(roles, role, 'meta', 'argument_specs.yml')) as handle:
            specs = yaml.safe_load(handle)['argument_specs']
        with open(os.path.join(roles, role, 'README.md')) as handle:
            readme = handle.read()
        for entry in specs.values():
            for name in entry.get('options') or {}:
                assert name.startswith(role + '_'), '%s: %s is not prefixed with the role name' % (role, name)
                assert '| `%s` |' % name in readme, '%s: %s missing from README' % (role, name)
