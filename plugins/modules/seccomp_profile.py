#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: seccomp_profile
short_description: Take syscalls out of SCMP_ACT_NOTIFY in a seccomp profile without changing anything else
version_added: 0.1.0
description:
  - Rewrites a deployed seccomp profile (OCI C(LinuxSeccomp) or Docker / containers-common format) so the
    syscalls in O(notify_remove) are no longer sent to a seccomp agent. This removes the runc 1.2.0-rc.1/rc.2
    hang on C(fcntl) under C(SCMP_ACT_NOTIFY) (opencontainers/runc#4328, bypass4netns#86).
  - Each removed syscall gets one explicit, unconditional rule with O(replacement_action), so it never falls
    through to a deny C(defaultAction). Profiles made by nerdctl for bypass4netns strip the notified names from
    every other rule; removing the name alone would make C(fcntl) fail with EPERM in every container.
  - Every other syscall keeps exactly the rules it had, on every architecture, capability set, kernel and
    argument condition, under both readings of a Docker-format file (Docker, podman and CRI-O expand
    C(name), C(includes) and C(excludes); containerd and kubelet read the same file as plain OCI).
    A NOTIFY rule left without names is removed.
  - Every part of the file the rewrite does not change keeps its exact bytes (one-line arrays, 2 or 4 spaces,
    tabs, compact, CRLF, a BOM); the rules it adds or changes follow the file's own layout.
  - The result is parsed and checked before it replaces the file (still parses, no NOTIFY left on the removed
    syscalls, no other syscall's rules changed); otherwise the file is left untouched and the module fails.
    The new file is written to a temporary file in the same directory and moved into place atomically;
    owner, group, mode, ACLs and extended attributes (SELinux label) are kept. The temporary file and the
    backup are created with the profile's own mode, never readable by more users than the profile.
  - An exclusive lock (C(.<name>.runcguard-lock) beside the file) is held from reading the file to replacing
    it; temporary and lock files have names M(runcguard.seccomp.runtime_facts) ignores. What a killed run left
    behind is removed by the next run, with a warning.
  - A profile with duplicate JSON keys is refused and left untouched (runtimes read only the last of each; a
    rewrite would drop the others).
  - An OCI bundle C(config.json) of a created or running container is refused; no future container reads it.
author:
  - runcguard maintainers (@runcguard)
options:
  path:
    description:
      - The profile file. Symlinks are followed; the file they point to is rewritten.
    type: path
    required: true
    aliases: [dest]
  notify_remove:
    description:
      - Syscalls to take out of every C(SCMP_ACT_NOTIFY) rule.
      - On 32-bit architectures also list C(fcntl64).
    type: list
    elements: str
    default: [fcntl]
  replacement_action:
    description:
      - Action of the explicit rule each removed syscall gets.
    type: str
    default: SCMP_ACT_ALLOW
    choices: [SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_ERRNO]
  notify_ensure:
    description:
      - Syscalls that must stay, or become, unconditional C(SCMP_ACT_NOTIFY) triggers (for example C(connect) for
        bypass4netns). A syscall that has to become one is taken out of argument-free rules with other actions,
        and the profile must have a C(listenerPath).
      - Must not overlap O(notify_remove).
    type: list
    elements: str
    default: []
  remove_unused_listener:
    description:
      - When no NOTIFY rule is left, also remove C(listenerPath) and C(listenerMetadata).
      - By default they are kept, which is harmless.
    type: bool
    default: false
  backup:
    description:
      - Keep a timestamped copy of the original file beside it before replacing it.
    type: bool
    default: false
  max_profile_size:
    description:
      - Largest profile, in bytes, the module reads. Bigger files fail without being changed.
    type: int
    default: 4194304
  lock_timeout:
    description:
      - Seconds to wait for another run that is rewriting the same file (two remediation runs, a loop and a
        manual run). The lock is held from reading the file to replacing it, so no run loses another's
        change; after this long the module fails and changes nothing.
    type: int
    default: 30
extends_documentation_fragment:
  - ansible.builtin.files
  - runcguard.seccomp._attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
    details:
      - Compared semantically; a file already free of the removed syscalls under NOTIFY is not rewritten,
        whatever its layout.
  platform:
    support: full
    platforms: posix
notes:
  - Docker reads C(seccomp-profile) from C(daemon.json) when the daemon starts; kubelet Localhost profiles are
    read when a pod starts; containerd, nerdctl and podman read a profile when a container is created.
    Running containers keep the filter they were started with.
seealso:
  - name: runc issue 4328
    description: runc 1.2.0-rc.1/rc.2 hang with fcntl under SCMP_ACT_NOTIFY.
    link: https://github.com/opencontainers/runc/issues/4328
'''

EXAMPLES = r'''
- name: Stop a bypass4netns profile from hanging runc 1.2.0-rc.1/rc.2
  runcguard.seccomp.seccomp_profile:
    path: /etc/docker/seccomp-bypass4netns.json
    notify_remove: [fcntl]
    notify_ensure: [connect]
    backup: true

- name: Take every NOTIFY rule out of a kubelet Localhost profile and drop the listener
  runcguard.seccomp.seccomp_profile:
    path: /var/lib/kubelet/seccomp/profiles/agent.json
    notify_remove: [fcntl, fcntl64, write]
    remove_unused_listener: true
    owner: root
    mode: "0644"
'''

RETURN = r'''
path:
  description: The file that was (or would be) rewritten, symlinks resolved.
  returned: always
  type: str
  sample: /etc/docker/seccomp.json
format:
  description: Profile format.
  returned: success
  type: str
  sample: docker
backup_file:
  description: Backup of the original file.
  returned: changed and O(backup=true)
  type: str
  sample: /etc/docker/seccomp.json.12345.2026-01-01@10:00:00~
removed:
  description: Syscalls taken out of NOTIFY rules.
  returned: success
  type: list
  elements: str
  sample: [fcntl]
added_rule:
  description: The explicit rule added for the removed syscalls, or null when none was needed.
  returned: success
  type: dict
  sample: {names: [fcntl], action: SCMP_ACT_ALLOW}
  contains:
    names:
      description: Syscalls of the rule.
      type: list
      elements: str
    action:
      description: The replacement action.
      type: str
dropped_rules:
  description: Number of rules removed because they were left without names.
  returned: success
  type: int
  sample: 0
ensured:
  description: O(notify_ensure) syscalls that were added to NOTIFY.
  returned: success
  type: list
  elements: str
  sample: []
notify_before:
  description: Syscalls named by NOTIFY rules before the rewrite.
  returned: success
  type: list
  elements: str
  sample: [connect, fcntl]
notify_after:
  description: Syscalls named by NOTIFY rules after the rewrite.
  returned: success
  type: list
  elements: str
  sample: [connect]
listener_removed:
  description: Whether C(listenerPath)/C(listenerMetadata) were removed.
  returned: success
  type: bool
  sample: false
format_preserved:
  description: Whether every unchanged part kept its exact bytes (false means unchanged parts were re-indented).
  returned: success
  type: bool
  sample: true
'''

import errno
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import (
    FileLock, FileProblem, backup_copy, read_bounded, remove_stale_scratch, replace_file, utf8_safe,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._rewrite import RewriteError, rewrite_text


def _rewrite(module, path, real, result):
    """Read, rewrite, validate and replace ``real``; with the lock held when not in check mode."""
    p = module.params
    try:
        data = read_bounded(real, p['max_profile_size'])
    except FileProblem as exc:
        module.fail_json(msg='%s: %s; nothing was changed' % (path, exc.message), **result)
    try:
        res = rewrite_text(data, p['notify_remove'], p['replacement_action'], p['notify_ensure'],
                           p['remove_unused_listener'], path=path)
    except RewriteError as exc:
        module.fail_json(msg='%s: %s; nothing was changed' % (path, to_native(exc)), **result)

    report = res['report']
    result.update(format=res['format'], removed=report['removed'], added_rule=report['added_rule'],
                  dropped_rules=report['dropped_rules'], ensured=report['ensured'],
                  notify_before=report['notify_before'], notify_after=report['notify_after'],
                  listener_removed=report['listener_removed'], format_preserved=res['format_preserved'])
    result['diff'] = dict(before=res['before'], after=res['after'], before_header='%s (before)' % real,
                          after_header='%s (after)' % real)
    if not res['changed']:
        return
    result['changed'] = True
    if not res['format_preserved']:
        module.warn('%s: its layout could not be followed, so unchanged parts are re-indented too '
                    '(the content is unchanged apart from the rewrite; see --diff)' % real)
    if module.check_mode:
        return
    try:
        if p['backup']:
            result['backup_file'] = backup_copy(real, data)
        try:
            replace_file(real, to_bytes(res['after']))
        except OSError as exc:
            # a bind-mounted file (containers) cannot be renamed over; unsafe_writes allows writing in place
            if exc.errno not in (errno.EBUSY, errno.EXDEV) or not p['unsafe_writes']:
                raise
            with open(real, 'r+b') as handle:
                handle.truncate(0)
                handle.write(to_bytes(res['after']))
    except (IOError, OSError, FileProblem) as exc:
        module.fail_json(msg='%s: could not write the rewritten profile: %s; the original is unchanged'
                         % (real, getattr(exc, 'message', None) or to_native(exc)), **result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True, aliases=['dest']),
            notify_remove=dict(type='list', elements='str', default=['fcntl']),
            replacement_action=dict(type='str', default='SCMP_ACT_ALLOW',
                                    choices=['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_ERRNO']),
            notify_ensure=dict(type='list', elements='str', default=[]),
            remove_unused_listener=dict(type='bool', default=False),
            backup=dict(type='bool', default=False),
            max_profile_size=dict(type='int', default=4194304),
            lock_timeout=dict(type='int', default=30),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    p = module.params
    path = p['path']
    real = os.path.realpath(path)
    result = dict(changed=False, path=real)

    if not p['notify_remove'] and not p['notify_ensure']:
        module.fail_json(msg='nothing to do: notify_remove and notify_ensure are both empty', **result)
    if p['lock_timeout'] < 0:
        module.fail_json(msg='lock_timeout must be 0 or more seconds', **result)
    if not os.path.isfile(real):
        try:
            read_bounded(path, p['max_profile_size'])  # says why: missing, loop, FIFO, directory, ...
        except FileProblem as exc:
            module.fail_json(msg='%s: %s; nothing was changed' % (path, exc.message), **result)
        module.fail_json(msg='%s: not a regular file; nothing was changed' % path, **result)

    # The lock is held from the read to the rename: a concurrent run waits, then re-reads what this
    # one wrote, so neither removal is lost. Check mode writes nothing and takes no lock.
    lock = None if module.check_mode else FileLock(real, p['lock_timeout'])
    try:
        if lock:
            try:
                lock.acquire()
                leftovers = remove_stale_scratch(real)
            except FileProblem as exc:
                module.fail_json(msg='%s: %s' % (real, exc.message), **result)
            if lock.stale_pid or leftovers:
                module.warn('%s: removed what an interrupted run (pid %s) left beside it: %s'
                            % (real, lock.stale_pid or '?',
                               ', '.join(leftovers + ([os.path.basename(lock.path)] if lock.stale_pid else []))))
        _rewrite(module, path, real, result)
        # owner/group/mode/SELinux asked for explicitly; check mode only reports them
        file_args = module.load_file_common_arguments(p, path=real)
        attr_diff = {}
        result['changed'] = module.set_fs_attributes_if_different(file_args, result['changed'], diff=attr_diff)
    finally:
        if lock:
            lock.release()
    diff = result.pop('diff', None)
    if module._diff and diff:
        result['diff'] = [diff, attr_diff] if attr_diff.get('before') or attr_diff.get('after') else diff
    module.exit_json(**utf8_safe(result))


if __name__ == '__main__':
    main()
