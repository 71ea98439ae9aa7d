# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Orchestration of ``notify_probe``: which runtimes and syscall sets, one canary at a time.

One probe = one throw-away container started by the host's own runc/crun with a seccomp profile
whose only rule sends the probed syscall(s) to ``SCMP_ACT_NOTIFY``, served by a seccomp agent that
lives in this process and answers every notification with ``SECCOMP_USER_NOTIF_FLAG_CONTINUE``.
The pieces: ``_probe_abi`` (kernel ABI), ``_probe_agent`` (agent), ``_probe_bundle`` (config.json,
rootfs), ``_probe_cleanup`` (processes, cgroups, mounts, interrupts), ``_probe_canary`` (one start).

Pure stdlib, Linux only, root only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils._command import ENV, run
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.engines import RUNTIME_DIRS, RUNTIME_GLOBS, RUNTIME_NAMES
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem, read_bounded
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.abi import host_support
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.canary import probe
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.outcome import OUT_OF_TIME
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.user_engines import USER_BIN_DIRS
from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import (
    ProfileError, decode_profile, notify_analysis, seccomp_section)
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import parse_runtime_version

# inconclusive: a failure seen only with signal returns under NOTIFY, or a sweep group result that did
# not reproduce: it says nothing about the runtime (never a hang, never a finding).
OUTCOMES = ('ok', 'hang', 'error', 'unsupported', 'inconclusive')


def runtime_identity(path, timeout=10, user=None):
    """(parsed version dict, refusal message or None) for a runtime binary.

    With ``user`` ({name, uid, gid, home, runtime_dir}) the binary is run as that user (dropped
    privileges), and only if that user or root owns it: never another user's file.
    """
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        return None, '%s is not an executable file' % path
    if user:
        try:
            owner = os.stat(path).st_uid
        except OSError as exc:
            return None, '%s: %s' % (path, exc.strerror)
        if owner not in (0, user['uid']):
            return None, ('%s is not owned by user %s (or root): not run as that user' % (path, user['name']))
        env = dict(ENV, HOME=user.get('home') or '/', XDG_RUNTIME_DIR=user['runtime_dir'])
        rc, out, err, error = run([path, '--version'], timeout, user=(user['uid'], user['gid']), env=env, cwd='/')
    else:
        rc, out, err, error = run([path, '--version'], timeout)
    if error:
        return None, '%s --version: %s' % (path, error)
    info = parse_runtime_version(out)
    if info.get('name') not in RUNTIME_NAMES:
        first = (out or err or b'').decode('utf-8', 'replace').strip().splitlines()
        return info, ('%s is not runc or crun (--version says %r, rc=%s): notify_probe drives only runc and crun'
                      % (path, first[0][:80] if first else '', rc))
    return info, None


def search_locations():
    """Where runtime_facts looks for runtimes (directories and k3s/RKE2/... globs), as paths."""
    paths = [os.path.join(d, n) for d in RUNTIME_DIRS for n in RUNTIME_NAMES]
    for pattern, _engine in RUNTIME_GLOBS:
        for name in RUNTIME_NAMES:
            paths.extend(sorted(glob.glob(pattern % name)))
    return paths


def find_runtimes(paths=None):
    """Every runc/crun binary where runtime_facts looks, one path per real file."""
    seen, found = set(), []
    for path in search_locations() if paths is None else paths:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                found.append(path)
    return found


def probe_user(name):
    """{name, uid, gid, home, runtime_dir} of the user a rootless probe runs as. Raises ValueError."""
    import pwd
    try:
        entry = pwd.getpwuid(int(name)) if str(name).isdigit() else pwd.getpwnam(str(name))
    except (KeyError, ValueError):
        raise ValueError('user %s: no such user' % name)
    if entry.pw_uid == 0:
        raise ValueError('user %s is root: a rootless probe runs as a non-root user (omit user for root)' % name)
    runtime_dir = '/run/user/%d' % entry.pw_uid
    if not os.path.isdir(runtime_dir):
        raise ValueError('user %s has no %s (XDG_RUNTIME_DIR): log the user in or enable lingering '
                         '(loginctl enable-linger %s) first' % (entry.pw_name, runtime_dir, entry.pw_name))
    return {'name': entry.pw_name, 'uid': entry.pw_uid, 'gid': entry.pw_gid, 'home': entry.pw_dir,
            'runtime_dir': runtime_dir}


def user_runtimes(user):
    """The user's own runc/crun in ~/.local/bin and ~/bin (the candidates runtime_facts looks at)."""
    paths = [os.path.join(user['home'], d, n) for d in USER_BIN_DIRS for n in RUNTIME_NAMES]
    return find_runtimes(paths)


# --- a whole run ----------------------------------------------------------------------------

SYSCALL_NAME = re.compile(r'^[a-z_][a-z0-9_]{0,63}$')
# What notify_probe tries by default: each hazard's trigger plus a control (connect).
PROBE_SYSCALLS = ('fcntl', 'sendmsg', 'write', 'close', 'read', 'openat', 'execve', 'connect')


def default_syscalls():
    """The default probe list (PROBE_SYSCALLS)."""
    return tuple(PROBE_SYSCALLS)


def profile_notify_set(path, max_size=4 * 1024 * 1024):
    """Effective NOTIFY syscalls of a profile file. Raises ValueError with a clear message."""
    try:
        doc, fmt = decode_profile(read_bounded(path, max_size))
        section = seccomp_section(doc, fmt)
    except FileProblem as exc:
        raise ValueError('profile %s: %s' % (path, exc.message))
    except ProfileError as exc:
        raise ValueError('profile %s: %s' % (path, exc))
    if not section:
        raise ValueError('profile %s has no seccomp section' % path)
    info = notify_analysis(section, fmt)
    if info['default_notify']:
        raise ValueError('profile %s sends every syscall to SCMP_ACT_NOTIFY (defaultAction): '
                         'no runtime can start it, nothing to probe' % path)
    if not info['notify_syscalls']:
        raise ValueError('profile %s has no SCMP_ACT_NOTIFY rule: nothing to probe' % path)
    return info['notify_syscalls']


def identify(runtimes, user=None):
    """([(path, version info)] of the distinct runc/crun binaries, skipped [{runtime, message}])."""
    targets, skipped, seen = [], [], set()
    for path in runtimes:
        if os.path.realpath(path) in seen:
            continue  # /usr/bin/runc -> /usr/sbin/runc: one binary, probed once
        seen.add(os.path.realpath(path))
        info, refusal = runtime_identity(path, user=user)
        if refusal:
            skipped.append({'runtime': path, 'message': refusal})
        else:
            targets.append((path, info))
    return targets, skipped


def base_result(path, info, syscalls, nnp, profile=None):
    """A result entry before its canary ran (the `results` schema of notify_probe)."""
    names = sorted(set(syscalls))
    return {
        'runtime': path, 'name': info['name'], 'version': info['version'], 'dev': bool(info.get('dev')),
        'commit': info.get('commit'), 'profile': profile, 'syscalls': names, 'syscall': ','.join(names),
        'no_new_privileges': bool(nnp), 'outcome': None, 'message': '', 'exit_code': None, 'agent_connected': False, 'notifications': 0,
        'container_id': None, 'detected_by': None, 'blocked_syscall': None, 'seconds': 0.0, 'leftovers': [],
    }


def out_of_time(deadline, timeout):
    """True when a probe that may take ``timeout`` s could not end before ``deadline`` (epoch s or None).

    Probes are not started then, rather than cut short: a shortened timeout would call a slow start a hang.
    """
    return deadline is not None and time.time() + timeout > deadline


def run_all(runtimes, syscall_sets, nnp_values, timeout, profile=None, tmp_parent=None, deadline=None, user=None):
    """Probe every runtime x syscall set x no_new_privileges value, one at a time.

    Returns (results, skipped): skipped holds {runtime, message} for binaries that are not
    runc/crun or cannot be run. A probe that raises becomes an `error` result; an interrupt
    (ProbeInterrupted, KeyboardInterrupt) propagates after that probe's cleanup. Past ``deadline``
    no probe starts; each one left out is listed in skipped.
    """
    results = []
    targets, skipped = identify(runtimes, user=user)
    unsupported = host_support()
    for path, info in targets:
        for syscalls in syscall_sets:
            for nnp in nnp_values:
                if out_of_time(deadline, timeout):
                    skipped.append({'runtime': path, 'message': '%s (%s, no_new_privileges=%s)'
                                    % (OUT_OF_TIME, ','.join(syscalls), str(bool(nnp)).lower())})
                    continue
                result = base_result(path, info, syscalls, nnp, profile)
                if user:
                    result['user'], result['uid'] = user['name'], user['uid']
                if unsupported:
                    result.update(outcome='unsupported', message=unsupported)
                else:
                    started = time.time()
                    try:
                        result.update(probe(path, info['name'], syscalls, nnp, timeout, tmp_parent,
                                            deadline=deadline, **({'user': user} if user else {})))
                    except (OSError, ValueError, RuntimeError) as exc:
                        result.update(outcome='error', seconds=round(time.time() - started, 3),
                                      message='probe of %s could not run: %s' % (path, exc))
                results.append(result)
    return results, skipped


def outcome_counts(results):
    counts = dict((outcome, 0) for outcome in OUTCOMES)
    for result in results:
        counts[result['outcome']] = counts.get(result['outcome'], 0) + 1
    return counts
