#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: notify_probe
short_description: Observe whether the host's runc or crun hangs on a seccomp SCMP_ACT_NOTIFY profile
version_added: 0.1.0
description:
  - Version tables can be wrong (vendor builds, backports, development builds, patched forks). This
    module lets a host answer for itself. For each runtime, each syscall and each
    C(noNewPrivileges) value it starts a throw-away canary container with the host's own runtime and
    a seccomp profile whose only rule sends that syscall to C(SCMP_ACT_NOTIFY), serves the
    notifications with a seccomp agent inside the module process, and reports what happened.
  - The canary runs C(true) in new PID, network, IPC, UTS and mount namespaces (no host network). Its
    root file system is an empty temporary directory with read-only bind mounts of the host's C(/usr)
    and lib directories, made only inside the container's mount namespace. It has its own C(--root)
    state directory, a unique container id and its own cgroupfs cgroup, so the engines' containers
    are never seen or touched.
  - The agent listens on a temporary unix socket (the profile's C(listenerPath)), receives the
    seccomp notification fd over C(SCM_RIGHTS) and answers every notification with
    C(SECCOMP_USER_NOTIF_FLAG_CONTINUE), so the syscall runs as if there were no filter.
  - C(ok) means the container process ran and exited 0, the container reached C(stopped) (runc) and
    the runtime passed the fd to the agent. C(hang) means the runtime can never finish, because a task of
    the runtime has waited 0.5 s in a seccomp notification (C(/proc/PID/wchan) is
    C(seccomp_do_user_notification), not in a signal return) while the agent has not received the
    notify fd, no fd is on its way, no other runtime process holds it and the runtime's threads
    sleep (reported at once, C(detected_by=wchan)); or the runtime did not return within
    O(timeout) (C(detected_by=timeout)); or it reported success while the container never reached
    C(stopped) (C(detected_by=state)).
    C(error) means the runtime failed; C(message) holds its own words. C(unsupported) means the
    kernel or libseccomp lacks C(SCMP_ACT_NOTIFY), or (sweep) libseccomp does not know the syscall.
  - C(inconclusive) means the observation says nothing about the runtime, so it is never a C(hang),
    never a finding and never a reason to upgrade or pin runc. It is given to a start that hung or failed with only
    signal returns (C(rt_sigreturn), C(sigreturn), C(restart_syscall)) under NOTIFY, or that timed out
    while its tasks waited only in signal returns (a Go runtime's preemption signal can stall any
    build under NOTIFY on a loaded machine); and, in a sweep, a failure that did not happen again when
    the same group was started again. C(outcome_counts.inconclusive) counts them; C(message) says what was seen.
  - With O(sweep=true) every syscall name of the host architecture's table (x86_64, aarch64) is
    tested by adaptive group testing. One canary starts with all of them under NOTIFY; a group that
    hangs or errors is split (the syscall a task is blocked in, or the one the runtime's error names,
    alone and the rest together; otherwise two halves) and each part started again, down to single
    syscalls. Signal returns (C(rt_sigreturn), C(restart_syscall)) are tested in a group of their
    own first (a failure there is C(inconclusive)). A failure counts only when it reproduces. A single
    syscall that failed is started once more, a group whose parts all start is started twice more and
    must fail every time (else C(inconclusive), listed in C(sweeps[].inconclusive)). A healthy runc
    needs about four starts per C(noNewPrivileges) value, runc 1.2.0-rc.2 about eight.
    C(sweeps) holds one entry per runtime and C(noNewPrivileges) value; C(results) one entry per
    syscall that is not C(ok).
  - Whatever happens (timeout, exception, SIGTERM/SIGINT/SIGHUP) every process the runtime started is
    killed with SIGKILL by PID (a hung runc ignores SIGTERM), the container is deleted with
    C(delete --force), and its cgroup, socket, mounts and temporary files are removed. Anything that
    could not be removed is listed in C(leftovers).
  - A run killed with SIGKILL (OOM killer, C(timeout -s KILL), a systemd stop) cannot clean up; its
    runtime process dies with it (C(PR_SET_PDEATHSIG)), but a hung C(runc init), the container, its
    cgroups and temporary directory stay. Their names carry the PID of the run that made them
    (C(runcguard-probe-<pid>-<random>)). So every run first reaps what dead runs left (their PID is
    not running, or was reused by a later process). It kills their processes by PID with SIGKILL,
    deletes their containers with C(delete --force), removes their cgroups and directories, and lists
    them in C(reaped), also in check mode. Live runs and other users' files are never touched.
  - Probes run one at a time; a hang that is not recognised at once costs O(timeout) seconds.
  - Only runc and crun are driven. A binary whose C(--version) says something else is refused and
    listed in C(not_probed); the other runtimes are still probed.
  - A binary that a non-root user owns or can change, or one in a directory such a user can change (or
    reached through such a user's symlink), is never run; it is listed in C(not_probed) with the reason
    (see C(docs/security.md)).
  - Never changes host configuration, engines or their containers.
author:
  - runcguard maintainers (@runcguard)
extends_documentation_fragment:
  - runcguard.seccomp._attributes
  - runcguard.seccomp._notify_probe_options
attributes:
  check_mode:
    support: full
    details:
      - The probe runs in check mode too. It changes no host configuration; it only starts and removes
        a throw-away container and temporary files, and C(changed) is always V(false).
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
  platform:
    support: full
    platforms: posix
    details:
      - Linux only, as root, kernel 5.5 or later for C(SECCOMP_USER_NOTIF_FLAG_CONTINUE).
notes:
  - Requires root. Runs C(runc --root <temp> run) directly (not through an engine) with an argument
    list, C(LANG=C), and a hard bound per probe.
  - crun refuses to run on hosts with hybrid cgroups (v1 controllers plus a cgroup2 mount); its
    probes then report C(error) with crun's own message.
  - The cgroup is created with the cgroupfs driver; C(--systemd-cgroup) is never passed.
seealso:
  - name: runc 1.2.0-rc.1/rc.2 hang with fcntl under SCMP_ACT_NOTIFY
    description: The hazard this probe observes directly.
    link: https://github.com/opencontainers/runc/issues/4328
  - name: seccomp_unotify(2)
    description: The seccomp user notification mechanism the agent implements.
    link: https://man7.org/linux/man-pages/man2/seccomp_unotify.2.html
  - module: runcguard.seccomp.runtime_facts
'''

EXAMPLES = r'''
- name: Probe every runc/crun found with the default syscalls
  runcguard.seccomp.notify_probe:
  become: true
  register: probe

- name: Probe the runtimes the facts found, fcntl and connect only, 5 s each
  runcguard.seccomp.notify_probe:
    runtime: "{{ ansible_facts.runcguard.runtimes | map(attribute='path') | list }}"
    syscalls: [fcntl, connect]
    timeout: 5
  become: true

- name: Test a runc binary that is not installed, with the NOTIFY set of the bypass4netns profile
  runcguard.seccomp.notify_probe:
    runtime: [/opt/runc-1.2.0-rc.2/runc.amd64]
    profile: /etc/bypass4netns/seccomp.json
    no_new_privileges: true
  become: true

- name: Which syscalls can this runc not have under NOTIFY? (a few container starts)
  runcguard.seccomp.notify_probe:
    runtime: [/usr/sbin/runc]
    sweep: true
  become: true
  register: sweep

- name: Fail when any probe hung
  ansible.builtin.assert:
    that: probe.results | selectattr('outcome', 'equalto', 'hang') | list | length == 0
    fail_msg: "{{ probe.results | selectattr('outcome', 'equalto', 'hang') | map(attribute='runtime') | unique | list }} hang"
'''

RETURN = r'''
results:
  description: One entry per runtime x syscall (or profile NOTIFY set) x C(no_new_privileges) value.
  returned: always
  type: list
  elements: dict
  contains:
    runtime:
      description: Path of the runtime binary.
      type: str
      sample: /usr/sbin/runc
    user:
      description: The user the canary ran as (only with O(user)).
      type: str
      returned: when probed as a user (O(user), O(user_runtimes))
      sample: alice
    uid:
      description: That user's uid.
      type: int
      returned: when probed as a user (O(user), O(user_runtimes))
      sample: 1000
    name:
      description: What the binary says it is.
      type: str
      sample: runc
    version:
      description: Normalised version from C(--version) (the C(commit:) line when the first line lies).
      type: str
      sample: 1.2.0-rc.2
    dev:
      description: Whether the binary is a development build.
      type: bool
      sample: false
    commit:
      description: The C(commit:) line of C(--version); it decides the version verdict of a development build.
      type: str
      sample: v1.2.0-rc.2-0-gf2d2ee5e4
    syscall:
      description: The probed syscall; several are joined with commas for a O(profile) probe.
      type: str
      sample: fcntl
    syscalls:
      description: The probed syscalls as a list.
      type: list
      elements: str
      sample: [fcntl]
    profile:
      description: The O(profile) file whose NOTIFY set was probed, or null.
      type: str
      sample: null
    no_new_privileges:
      description: The canary's C(process.noNewPrivileges).
      type: bool
      sample: true
    outcome:
      description: C(ok), C(hang), C(error), C(unsupported) or C(inconclusive) (see the notes).
      type: str
      sample: hang
    message:
      description: The runtime's own error words for C(error)/C(unsupported), why it counts as C(hang),
        or empty.
      type: str
      sample: "runc run failed: unable to start container process: unable to init seccomp: SCMP_ACT_NOTIFY cannot be used for the write syscall"
    agent_connected:
      description: Whether the runtime passed the seccomp fd to the agent.
      type: bool
      sample: true
    notifications:
      description: Notifications the agent answered (the runtime's own and the container's calls).
      type: int
      sample: 6
    exit_code:
      description: Exit status of the runtime, null when it was killed.
      type: int
      sample: 0
    container_id:
      description: The canary's unique container id.
      type: str
      sample: runcguard-probe-4242-k2j1x0ab
    detected_by:
      description: For C(hang), how it was recognised (C(wchan), C(timeout) or C(state)); null otherwise.
      type: str
      sample: wchan
    blocked_syscall:
      description: The syscall a runtime task was blocked in when the hang was recognised by C(wchan).
      type: str
      sample: fcntl
    seconds:
      description: Time the probe took, cleanup excluded.
      type: float
      sample: 0.07
    leftovers:
      description: Anything cleanup could not remove (processes, cgroups, mounts, temp dir). Normally empty.
      type: list
      elements: str
      sample: []
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
not_probed:
  description:
    - Runtimes and probes that were not run, with the reason (not runc/crun, not executable, no answer,
      not a syscall name, the O(total_timeout) reached).
    - Called C(skipped) before 0.2.0; Ansible reserves that key for a skipped task and turned the list
      into a boolean.
  returned: always
  type: list
  elements: dict
  contains:
    runtime:
      description: Path as given.
      type: str
    message:
      description: Why it was not probed.
      type: str
  sample: [{runtime: /usr/bin/youki, message: "/usr/bin/youki is not runc or crun (...): notify_probe drives only runc and crun"}]
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
outcome_counts:
  description: Number of results per outcome.
  returned: always
  type: dict
  sample: {ok: 15, hang: 1, error: 2, unsupported: 0, inconclusive: 0}
summary:
  description:
    - Deprecated, removed in 1.0.0. The same as RV(outcome_counts), its name before 0.2.0 (in this collection a
      summary is the audit's host summary).
  returned: always
  type: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.run import ProbeFailed, run_notify_probe


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runtime=dict(type='list', elements='path'),
            user=dict(type='str'),
            user_runtimes=dict(type='dict'),
            syscalls=dict(type='list', elements='str'),
            profile=dict(type='path'),
            sweep=dict(type='bool', default=False),
            timeout=dict(type='int', default=10),
            total_timeout=dict(type='int', default=0),
            no_new_privileges=dict(type='list', elements='bool', default=[True, False]),
        ),
        mutually_exclusive=[('syscalls', 'profile'), ('sweep', 'profile'), ('sweep', 'user'), ('user', 'user_runtimes')],
        supports_check_mode=True,
    )
    if os.geteuid() != 0:
        module.fail_json(msg='runcguard.seccomp.notify_probe must run as root (become: true): it starts '
                             'containers with runc/crun and serves their seccomp notifications')
    try:
        result = run_notify_probe(module.params)
    except ProbeFailed as exc:
        module.fail_json(msg=exc.msg, **exc.fields)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
