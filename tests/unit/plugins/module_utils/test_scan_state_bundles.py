# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""root's runc state directory (/run/runc/*/state.json) read without blocking: a FIFO or a device
there (a mounted node root is anyone's tree) is an error entry, never a hang."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.profiles import state_bundles
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.rootfs import RootFs


class _Hung(BaseException):
    pass


@pytest.fixture
def no_hang():
    def hung(signum, frame):
        raise _Hung()
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_fifo_named_state_json_under_a_node_root_is_skipped_not_waited_on(tmp_path, no_hang):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, 'run/runc/hung'))
    os.mkfifo(os.path.join(root, 'run/runc/hung/state.json'))
    os.makedirs(os.path.join(root, 'run/runc/good'))
    with open(os.path.join(root, 'run/runc/good/state.json'), 'w') as handle:
        json.dump({'config': {'labels': ['bundle=/run/bundles/good']}, 'init_process_pid': 7}, handle)
    try:
        found = state_bundles(RootFs(root), None, '/run/runc')
    except _Hung:
        pytest.fail('open() of a FIFO named state.json blocked the scan')
    assert found == [('/run/bundles/good/config.json', 'good', 7)]
