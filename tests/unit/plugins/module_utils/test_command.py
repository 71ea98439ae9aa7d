# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_command.run with real processes: exit codes, missing and unrunnable files, the time bound
killing the whole process group (SIGTERM ignored, helpers that keep the pipes), bounded output."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils import _command


def gone(pid):
    """The process stops running within 2 s (SIGKILL is delivered asynchronously): reaped, or a
    zombie waiting for its reaper."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            with open('/proc/%d/stat' % pid) as handle:
                if handle.read().rsplit(')', 1)[1].split()[0] == 'Z':
                    return True
        except OSError:
            return True
        time.sleep(0.01)
    return False


def test_output_exit_code_and_locale():
    rc, out, err, error = _command.run(['sh', '-c', 'echo "$LANG"; echo oops >&2; exit 3'], 5)
    assert (rc, out, err, error) == (3, b'C\n', b'oops\n', None)


def test_missing_and_unrunnable_files(tmp_path):
    assert _command.run([str(tmp_path / 'nope')], 5) == (None, b'', b'', 'not found')
    plain = tmp_path / 'plain'
    plain.write_text('not a program')
    plain.chmod(0o644)
    rc, dummy, dummy, error = _command.run([str(plain)], 5)
    assert rc is None and error.startswith('cannot be executed')


def test_time_bound_kills_what_ignores_sigterm():
    rc, out, dummy, error = _command.run(['sh', '-c', 'trap "" TERM; echo started; sleep 60'], 1)
    assert rc is None and error == 'timed out after 1s'
    assert out == b'started\n'  # what it printed before is kept


def test_helpers_left_behind_are_killed_with_the_group():
    # The shell exits at once; its background sleep keeps the pipes open and would run on.
    rc, out, dummy, error = _command.run(['sh', '-c', 'sleep 60 & echo $!'], 30)
    assert rc == 0 and error is None
    assert gone(int(out))


def test_output_is_bounded():
    rc, out, err, error = _command.run(['sh', '-c', 'head -c 300000 /dev/zero; head -c 5000 /dev/zero >&2'], 10,
                                       limit=1000)
    assert rc == 0 and error is None and len(out) == 1000 and len(err) == 1000


def test_find_looks_in_the_fixed_path():
    assert _command.find('sh') in [os.path.join(d, 'sh') for d in _command.SEARCH_PATH]
    assert _command.find('no-such-program-here') is None


def test_fd_runs_exactly_the_opened_file_even_a_script(tmp_path):
    # the descriptor is opened O_CLOEXEC, as _safefile.open_executable opens it: a #! script still runs
    # (its interpreter reopens /proc/self/fd/N), and replacing the path afterwards changes nothing
    prog = tmp_path / 'runc'
    prog.write_text('#!/bin/sh\necho "runc version 1.1.13 $0"\n')
    os.chmod(str(prog), 0o755)
    fd = os.open(str(prog), os.O_RDONLY | os.O_CLOEXEC)
    try:
        other = tmp_path / 'other'
        other.write_text('#!/bin/sh\necho swapped\n')
        os.chmod(str(other), 0o755)
        os.rename(str(other), str(prog))
        rc, out, err, error = _command.run([str(prog), '--version'], 5, fd=fd)
        assert (rc, error) == (0, None), err
        assert out.startswith(b'runc version 1.1.13 /proc/self/fd/%d' % fd), out
        assert _command.run([str(prog)], 5)[1] == b'swapped\n'  # without fd: whatever the path names now
    finally:
        os.close(fd)


def test_a_setsid_grandchild_does_not_outlive_the_call():
    # A process that left argv's process group and session (setsid) after its parent exited: it is
    # re-parented to this process (child subreaper for the call), killed and reaped.
    rc, out, dummy, error = _command.run(['sh', '-c', 'setsid sh -c \'echo $$; exec sleep 60\' & sleep 0.3'], 30)
    assert rc == 0 and error is None
    pid = int(out)
    assert not os.path.exists('/proc/%d' % pid), 'the setsid grandchild outlived run()'


def test_children_of_the_caller_are_left_alone():
    import subprocess
    mine = subprocess.Popen(['sleep', '30'])
    try:
        assert _command.run(['sh', '-c', 'setsid sleep 60 & sleep 0.2'], 10)[0] == 0
        assert mine.poll() is None, 'run() killed a child it did not start'
    finally:
        mine.kill()
        mine.wait()
