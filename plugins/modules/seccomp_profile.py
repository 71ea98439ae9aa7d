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
  - Race-free as root. The profile's directory is opened once without following links a user could have put
    on the way (C(openat2) with C(RESOLVE_NO_SYMLINKS) where the kernel has it, else one C(O_NOFOLLOW) step
    per component); the lock, the read, the backup, the temporary file and the rename are all relative to
    that directory, and the file must still be the one that was read when it is replaced. A profile that a
    non-root user owns or can change, or one in a directory such a user owns or can change, is refused unless
    O(allow_user_owned=true). See C(docs/security.md).
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
      - The profile file. A symlink root owns, in directories only root can change, is followed and the file
        it points to is rewritten; a symlink a non-root user owns or could have put there is never followed.
    type: path
    required: true
    aliases: [dest]
  allow_user_owned:
    description:
      - Rewrite a profile that a non-root user owns or can change, or that lies in a directory a non-root user
        owns or can change (the Security Profiles Operator's C(/var/lib/kubelet/seccomp/operator) belongs to
        uid 65535; bypass4netns profiles live in homes).
      - By default root refuses such a file, because that user could steer root's write elsewhere. When
        allowed, the rewrite is race-free (every step relative to the directory opened once, without
        following links) and the file keeps its owner, group and mode; only O(owner), O(group) and O(mode)
        can be set on it, not SELinux options or O(attributes).
    type: bool
    default: false
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
user_controlled:
  description: What on the profile's path a non-root user owns or can change (only with O(allow_user_owned=true)).
  returned: when the path is user-controlled
  type: str
  sample: /var/lib/kubelet/seccomp/operator is owned by uid 65535
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
import grp
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem, utf8_safe
from ansible_collections.runcguard.seccomp.plugins.module_utils._rewrite import RewriteError, rewrite_text
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import SafeDir, UserControlled


def _problem(path, exc):
    """A FileProblem as the module says it: the policy's own sentence, or '<path>: <why>'."""
    if isinstance(exc, UserControlled):
        return exc.message
    return '%s: %s' % (path, exc.message)


def _rewrite(module, sdir, name, path, result):
    """Read, rewrite, validate and replace ``name`` in ``sdir``; with the lock held when not in check mode."""
    p = module.params
    real = sdir.join(name)
    try:
        data, st, attrs = sdir.read_with_attributes(name, p['max_profile_size'])
    except FileProblem as exc:
        module.fail_json(msg='%s; nothing was changed' % _problem(path, exc), **result)
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
        return st
    result['changed'] = True
    if not res['format_preserved']:
        module.warn('%s: its layout could not be followed, so unchanged parts are re-indented too '
                    '(the content is unchanged apart from the rewrite; see --diff)' % real)
    if module.check_mode:
        return st
    # scratch file, backup and rename relative to the directory descriptor; the name must still be
    # the inode that was read; owner, group, mode and xattrs of what was read are kept
    after = to_bytes(res['after'])
    try:
        try:
            backup = sdir.write(name, after, expect=st, attrs=attrs, backup=data if p['backup'] else None)
        except OSError as exc:
            # a bind-mounted file (containers) cannot be renamed over; unsafe_writes allows writing in place
            if exc.errno not in (errno.EBUSY, errno.EXDEV) or not p['unsafe_writes']:
                raise
            backup = sdir.backup(name, data, attrs) if p['backup'] else None
            sdir.write_in_place(name, after, st)
        if backup:
            result['backup_file'] = backup
        return sdir.lstat(name)
    except (IOError, OSError, FileProblem) as exc:
        module.fail_json(msg='%s: could not write the rewritten profile: %s; the original is unchanged'
                         % (real, getattr(exc, 'message', None) or to_native(exc)), **result)


def _ids(module, result):
    """(uid, gid, mode) asked for with owner / group / mode (None where not asked)."""
    p = module.params
    uid = gid = None
    try:
        if p['owner'] is not None:
            uid = int(p['owner']) if str(p['owner']).isdigit() else pwd.getpwnam(p['owner']).pw_uid
        if p['group'] is not None:
            gid = int(p['group']) if str(p['group']).isdigit() else grp.getgrnam(p['group']).gr_gid
    except KeyError as exc:
        module.fail_json(msg='no such user or group: %s' % to_native(exc), **result)
    return uid, gid, p['mode']


def _user_attributes(module, sdir, name, st, result):
    """owner / group / mode on a user-controlled path: through the descriptor, never by path."""
    p = module.params
    for key in ('seuser', 'serole', 'setype', 'selevel', 'attributes'):
        if p.get(key):
            module.fail_json(msg='%s: %s cannot be set on a file in a directory a non-root user controls '
                                 '(only owner, group and mode are set there, race-free)' % (sdir.join(name), key),
                             **result)
    uid, gid, mode = _ids(module, result)
    if mode is not None:
        try:
            mode = int(mode, 8) if isinstance(mode, str) and mode.isdigit() else (
                int(mode) if not isinstance(mode, str) else module._symbolic_mode_to_octal(st, mode))
        except ValueError as exc:
            module.fail_json(msg='bad mode %s: %s' % (p['mode'], to_native(exc)), **result)
    if uid is None and gid is None and mode is None:
        return {}
    current = dict(owner=st.st_uid, group=st.st_gid, mode='%04o' % (st.st_mode & 0o7777))
    want = dict(owner=current['owner'] if uid is None else uid, group=current['group'] if gid is None else gid,
                mode=current['mode'] if mode is None else '%04o' % mode)
    if want == current:
        return {}
    result['changed'] = True
    if not module.check_mode:
        try:
            sdir.set_attributes(name, uid, gid, mode, expect=st)
        except (OSError, FileProblem) as exc:
            module.fail_json(msg='%s: could not set owner/group/mode: %s'
                             % (sdir.join(name), getattr(exc, 'message', None) or to_native(exc)), **result)
    return dict(before=current, after=want)


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
            allow_user_owned=dict(type='bool', default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    p = module.params
    path = p['path']
    result = dict(changed=False, path=path)

    if not p['notify_remove'] and not p['notify_ensure']:
        module.fail_json(msg='nothing to do: notify_remove and notify_ensure are both empty', **result)
    if p['lock_timeout'] < 0:
        module.fail_json(msg='lock_timeout must be 0 or more seconds', **result)
    # The profile's directory is opened once, without following a link a user could have put on the
    # way; everything after (lock, read, backup, scratch, rename) is relative to that descriptor.
    try:
        sdir, name = SafeDir.for_file(path, p['allow_user_owned'])
    except FileProblem as exc:
        module.fail_json(msg='%s; nothing was changed' % _problem(path, exc), **result)
    result['path'] = real = sdir.join(name)
    if sdir.controller:
        result['user_controlled'] = '%s is %s' % sdir.controller

    # The lock is held from the read to the rename: a concurrent run waits, then re-reads what this
    # one wrote, so neither removal is lost. Check mode writes nothing and takes no lock.
    lock = None
    attr_diff = {}
    try:
        if not module.check_mode:
            try:
                lock = sdir.lock(name, p['lock_timeout'])
                leftovers = sdir.remove_stale_scratch(name)
            except FileProblem as exc:
                module.fail_json(msg='%s: %s' % (real, exc.message), **result)
            if lock.stale_pid or leftovers:
                module.warn('%s: removed what an interrupted run (pid %s) left beside it: %s'
                            % (real, lock.stale_pid or '?',
                               ', '.join(leftovers + ([lock.name] if lock.stale_pid else []))))
        st = _rewrite(module, sdir, name, path, result)
        if sdir.controller:
            attr_diff = _user_attributes(module, sdir, name, st, result)
        else:
            # owner/group/mode/SELinux asked for explicitly, on a path only root can change
            file_args = module.load_file_common_arguments(p, path=real)
            result['changed'] = module.set_fs_attributes_if_different(file_args, result['changed'], diff=attr_diff)
    finally:
        if lock:
            lock.release()
        sdir.close()
    diff = result.pop('diff', None)
    if module._diff and diff:
        result['diff'] = [diff, attr_diff] if attr_diff.get('before') or attr_diff.get('after') else diff
    module.exit_json(**utf8_safe(result))


if __name__ == '__main__':
    main()
