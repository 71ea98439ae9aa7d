# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures: permission checks that hold whoever runs the suite (CI runs it as root)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import os
import shutil
import tempfile

import pytest

NOBODY = 65534


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
