# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The helper is the only way the collection writes files as root (issue 26, docs/security.md): no task of
a role or playbook uses one of Ansible's file writers on a host; they use root_file / stage_file (or a
module of the collection that goes through module_utils/_safefile.py). Only tasks that run on the
controller (delegate_to: localhost) may."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
WRITERS = ('template', 'copy', 'get_url', 'lineinfile', 'blockinfile', 'replace', 'file', 'unarchive',
           'assemble', 'uri', 'fetch', 'tempfile', 'ini_file', 'known_hosts', 'patch', 'synchronize')
PREFIXES = ('', 'ansible.builtin.', 'ansible.legacy.', 'community.general.', 'ansible.posix.')
BLOCKS = ('block', 'rescue', 'always', 'tasks', 'pre_tasks', 'post_tasks', 'handlers')


def _tasks(node):
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        nested = [key for key in BLOCKS if isinstance(node.get(key), list)]
        if nested:
            for key in nested:
                yield from _tasks(node[key])
        else:
            yield node


def _files():
    for pattern in ('roles/*/tasks/*.yml', 'roles/*/handlers/*.yml', 'playbooks/*.yml'):
        yield from sorted(glob.glob(os.path.join(REPO, pattern)))


def test_no_builtin_file_writer_runs_on_a_host():
    found = []
    files = list(_files())
    assert len(files) > 10
    for path in files:
        with open(path) as handle:
            doc = yaml.safe_load(handle)
        for task in _tasks(doc):
            if task.get('delegate_to') in ('localhost', '127.0.0.1'):
                continue
            for key in task:
                if any(key == prefix + name for prefix in PREFIXES for name in WRITERS):
                    found.append('%s: %s (%s)' % (os.path.relpath(path, REPO), task.get('name'), key))
    assert found == [], 'use runcguard.seccomp.root_file / stage_file instead: %s' % found


def test_the_check_sees_a_writer():
    doc = [{'block': [{'name': 'x', 'ansible.builtin.template': {'src': 'a', 'dest': 'b'}}]}]
    assert [t['name'] for t in _tasks(doc) if 'ansible.builtin.template' in t] == ['x']
