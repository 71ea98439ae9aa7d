# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private doc fragment: what notify_probe's sweep (module_utils/_probe/sweep.py) and reaper
# (module_utils/_probe/reap.py) return, kept beside the module's own RETURN (merged by ansible-doc).

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Use as `runcguard.seccomp._probe_returns` in a RETURN block.
    RETURN = r'''
sweeps:
  description: With O(sweep=true), one entry per runtime x C(no_new_privileges) value; empty otherwise.
  returned: always
  type: list
  elements: dict
  contains:
    runtime:
      description: Path of the runtime binary.
      type: str
    name:
      description: runc or crun.
      type: str
    version:
      description: Normalised version from C(--version).
      type: str
    no_new_privileges:
      description: The canaries' C(process.noNewPrivileges).
      type: bool
    tested:
      description: Number of syscall names swept.
      type: int
      sample: 382
    hang:
      description: Syscalls that make the runtime hang when alone under NOTIFY.
      type: list
      elements: str
      sample: [fcntl]
    error:
      description: Syscalls the runtime refuses or fails on under NOTIFY.
      type: list
      elements: str
      sample: [write]
    unsupported:
      description: Syscalls not tested because libseccomp does not know them (or NOTIFY is unsupported).
      type: list
      elements: str
    combined:
      description: Groups of syscalls that fail only together (every time they are started), each with its C(outcome).
      type: list
      elements: dict
      sample: []
    inconclusive:
      description:
        - Groups whose failure says nothing about the runtime, each C({syscalls, reason, message}); never a hang.
        - C(reason) is C(signal_return) (only signal returns were under NOTIFY) or C(not_reproduced) (the
          failure did not happen again when the group was started again).
      type: list
      elements: dict
      sample: [{syscalls: [restart_syscall, rt_sigreturn], reason: signal_return, message: "only signal returns ..."}]
    untested:
      description: Syscalls left untested because the sweep reached its start limit (256). Normally empty.
      type: list
      elements: str
    starts:
      description: Container starts the sweep needed.
      type: int
      sample: 3
    seconds:
      description: Time the sweep took, cleanups included.
      type: float
      sample: 0.9
    message:
      description: Why the sweep stopped early (the runtime cannot start any canary, ...), or empty.
      type: str
    libseccomp:
      description: Version of the host libseccomp that decided which names are known, or null.
      type: str
      sample: 2.5.4
    leftovers:
      description: Anything the cleanups could not remove. Normally empty.
      type: list
      elements: str
  sample: [{runtime: /usr/sbin/runc, name: runc, version: 1.2.0-rc.2, no_new_privileges: true, tested: 382,
            hang: [fcntl], error: [write], unsupported: [mseal], combined: [], inconclusive: [], untested: [], starts: 5,
            seconds: 2.1, message: "", libseccomp: 2.5.4, leftovers: []}]
reaped:
  description:
    - What earlier runs that were killed left behind and this run removed first, one entry per canary.
      Normally empty.
  returned: always
  type: list
  elements: dict
  contains:
    container_id:
      description: The canary's container id (also the name of its directory and cgroups).
      type: str
      sample: runcguard-probe-4242-k2j1x0ab
    pid:
      description: PID of the run that made it (no longer running).
      type: int
    directory:
      description: Its temporary directory, or null when only cgroups or processes were found.
      type: str
    cgroups:
      description: Its cgroup directories that were removed.
      type: list
      elements: str
    processes:
      description: PIDs of its processes killed with SIGKILL (a hung C(runc init), C(runc run)).
      type: list
      elements: int
    deleted:
      description: Whether the runtime deleted its container with C(delete --force).
      type: bool
    problems:
      description: What could not be killed or removed. Normally empty.
      type: list
      elements: str
  sample: [{container_id: runcguard-probe-4242-k2j1x0ab, pid: 4242, directory: /tmp/runcguard-probe-4242-k2j1x0ab,
            cgroups: [/sys/fs/cgroup/memory/runcguard-probe-4242-k2j1x0ab], processes: [4311], deleted: true, problems: []}]
'''
