# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures: permission checks that hold whoever runs the suite (CI runs it as root)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import ansible
import pytest

NOBODY = 65534
PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'plugins')


@contextlib.contextmanager
def _effective_nobody():
    """Root becomes uid/gid 65534 (no capabilities, no groups) until the block ends.

    Only the effective ids change: the real and saved ids stay 0, so root can switch back. As any
    other user the block runs unchanged: file modes already apply.
    """
    if os.geteuid() != 0:
        yield
        return
    groups = os.getgroups()
    os.setgroups([])
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(groups)


@pytest.fixture
def as_nobody():
    """`with as_nobody():` runs the block as an unprivileged user, also when the tests run as root."""
    return _effective_nobody


@pytest.fixture
def open_tmp():
    """A temporary directory every user can enter (pytest's tmp_path sits below a 0700 directory)."""
    path = tempfile.mkdtemp(prefix='rcg-perm-')
    os.chmod(path, 0o755)
    yield path
    for parent, dirs, _files in os.walk(path):
        for name in dirs:
            os.chmod(os.path.join(parent, name), 0o755)
    shutil.rmtree(path)


def _payload(directory):
    """(argv prefix, python, env, modules dir) to run modules as uid 65534, or None.

    As Ansible runs a module on a target: the module with ansible's and the collection's
    module_utils copied to a directory every user can read (AnsiballZ does the same), run by a
    Python that user can execute (sys.executable may sit below root's 0700 home, hence the system
    Python too). Not root: the same, without switching user.
    """
    payload = os.path.join(directory, 'payload')
    no_cache = shutil.ignore_patterns('__pycache__')
    shutil.copytree(os.path.join(os.path.dirname(os.path.abspath(ansible.__file__)), 'module_utils'),
                    os.path.join(payload, 'ansible', 'module_utils'), ignore=no_cache)
    with open(os.path.join(payload, 'ansible', '__init__.py'), 'w') as handle:
        handle.write('')  # AnsiballZ ships a stub too, not the controller's package
    plugins = os.path.join(payload, 'ansible_collections', 'runcguard', 'seccomp', 'plugins')
    for sub in ('module_utils', 'modules'):
        shutil.copytree(os.path.join(PLUGINS, sub), os.path.join(plugins, sub), ignore=no_cache)
    prefix = ['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY, '--clear-groups'] if os.geteuid() == 0 else []
    env = dict(os.environ, PYTHONPATH=payload, LANG='C', LC_ALL='C')
    for python in (sys.executable, '/usr/bin/python3'):
        try:
            proc = subprocess.run(prefix + [python, '-c', 'import ansible.module_utils.basic'], env=env,
                                  capture_output=True, timeout=60, check=False)
        except OSError:
            continue
        if proc.returncode == 0:
            return prefix, python, env, os.path.join(plugins, 'modules')
    return None


@pytest.fixture
def run_unprivileged(open_tmp):
    """run(module, args) -> result: a module of this collection run as uid 65534 (see _payload).

    Its payload and arguments files live in `open_tmp` (payload/, args-N.json).
    """
    prepared = []

    def run(module, args):
        if not prepared:
            prepared.append(_payload(open_tmp))
        if prepared[0] is None:
            pytest.skip('no Python interpreter that uid %d can run' % NOBODY)
        prefix, python, env, modules = prepared[0]
        args_file = os.path.join(open_tmp, 'args-%d.json' % len([n for n in os.listdir(open_tmp) if n.startswith('args-')]))
        with open(args_file, 'w') as handle:
            json.dump({'ANSIBLE_MODULE_ARGS': args}, handle)
        os.chmod(args_file, 0o644)
        proc = subprocess.run(prefix + [python, os.path.join(modules, module + '.py'), args_file], env=env,
                              capture_output=True, timeout=120, check=False)
        out = proc.stdout.decode()
        assert '{' in out, proc.stderr.decode()[-2000:]
        return json.loads(out[out.index('{'):])
    return run
