# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One module run as a user runs it: `ansible localhost -m MODULE -a JSON -o` (as root, the local
connection, this Python), started, waited for, and its one-line result parsed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest


def tool(name):
    """An Ansible command installed next to this Python (the test skips when there is none)."""
    found = shutil.which(name) or os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(found):
        pytest.skip('%s is not installed next to this Python' % name)
    return found


def env():
    return dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
                ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_DEPRECATION_WARNINGS='0')


def start(module, args):
    """The ad-hoc run, started in the background."""
    return subprocess.Popen([tool('ansible'), 'localhost', '-i', 'localhost,', '-c', 'local', '-o', '-m', module,
                             '-a', json.dumps(args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())


def result(proc, timeout=300):
    """(stdout text, the module's result with ``failed``) of a run from start(); killed past ``timeout``."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    text = out.decode('utf-8')
    for line in text.splitlines():
        if line.startswith('localhost | ') and ' => ' in line:
            status, found = line[len('localhost | '):].split(' => ', 1)
            found = json.loads(found)
            found['failed'] = status.startswith('FAILED')
            return text, found
    raise AssertionError('no result from ansible: %s %s' % (text[-2000:], err[-2000:]))


def run(module, args, timeout=300):
    """The module's result (with ``failed``) of one ad-hoc run."""
    return result(start(module, args), timeout)[1]
