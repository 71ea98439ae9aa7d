# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runc_pin's choice of the runc binaries it pins, rendered from roles/runc_pin/tasks/facts.yml itself."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:  # ansible-core >= 2.19 templates only strings trusted as templates (as task files are)
    from ansible.template import trust_as_template
except ImportError:  # 2.16: every string is a template
    def trust_as_template(value):
        return value

FACTS_YML = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'runc_pin', 'tasks', 'facts.yml')


def used(runtimes):
    with open(FACTS_YML) as handle:
        tasks = yaml.safe_load(handle)
    expression = [t for t in tasks if 'runc_pin__used' in (t.get('ansible.builtin.set_fact') or {})][0]
    template = expression['ansible.builtin.set_fact']['runc_pin__used']
    variables = {'ansible_facts': {'runcguard': {'runtimes': runtimes}}}
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(template))


def test_a_users_own_runc_never_steers_the_system_pin():
    # red team: a user's ~/bin/runc linked to another package's file, used by the user's rootless
    # docker, made runc_pin_state report that package as a runc owner (several owners: binary method)
    system = {'name': 'runc', 'path': '/usr/sbin/runc', 'used_by': ['docker'], 'owner': None, 'users': ['alice']}
    users = {'name': 'runc', 'path': '/home/alice/bin/runc', 'used_by': ['docker'],
             'owner': {'name': 'alice', 'uid': 1000}, 'users': ['alice']}
    unused = {'name': 'runc', 'path': '/opt/runc', 'used_by': [], 'owner': None}
    crun = {'name': 'crun', 'path': '/usr/bin/crun', 'used_by': ['podman'], 'owner': None}
    assert [r['path'] for r in used([system, users, unused, crun])] == ['/usr/sbin/runc']
    assert used([users]) == []
