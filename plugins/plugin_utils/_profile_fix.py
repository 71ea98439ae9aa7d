# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The profile_fix role's decisions: which profiles to rewrite, and what a re-audit still shows.

Pure Python on the controller, no I/O. Facts are ``ansible_facts.runcguard`` (untrusted: every
access tolerates missing or odd values).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import evaluate

# Engines that read their seccomp profile only when they start.
RESTART_ENGINES = ('docker', 'cri-o')


def _profiles(facts):
    return [p for p in (facts or {}).get('profiles') or [] if isinstance(p, dict)]


def _unique(items):
    return list(dict.fromkeys(items))


def plan(facts, notify_remove, paths=None):
    """What to rewrite on this host.

    ``findings``: findings a rewrite of ``notify_remove`` fixes (on ``paths`` when given);
    ``targets``: files to rewrite (``paths`` when given, else the profiles those findings name,
    without running-container bundles); ``skipped_bundles``: bundles named but left alone;
    ``restart_engines``: per target, the engines (docker, cri-o) that read it only at start.
    """
    remove = set(notify_remove or ())
    findings = [f for f in evaluate(facts or {})
                if 'rewrite_profile' in (f.get('remediation') or []) and f.get('profile')
                and remove & set(f.get('syscalls') or ())]
    bundles = set(p.get('path') for p in _profiles(facts) if p.get('format') == 'bundle')
    named = _unique(f['profile'] for f in findings)
    if paths:
        findings = [f for f in findings if f['profile'] in paths]
        targets, skipped = list(paths), []
    else:
        targets, skipped = [p for p in named if p not in bundles], [p for p in named if p in bundles]
    restart = {}
    for profile in _profiles(facts):
        if profile.get('path') in targets:
            engines = [o.get('engine') for o in profile.get('origin') or [] if isinstance(o, dict)]
            restart[profile['path']] = _unique(e for e in engines if e in RESTART_ENGINES)
    return {'findings': findings, 'targets': targets, 'skipped_bundles': skipped, 'restart_engines': restart}


def remaining(facts, findings, targets, notify_remove, failed=None):
    """What a re-audit (``facts`` gathered after the rewrite) still shows of what was meant to go:
    the targeted findings (``findings`` from ``plan``) and NOTIFY rules on ``notify_remove`` left in
    a target that was rewritten (``failed``: targets whose rewrite failed, reported elsewhere)."""
    remove, failed = set(notify_remove or ()), set(failed or ())
    keys = set(f.get('key') for f in findings or [] if f.get('profile') in targets)
    out = ['%s on %s' % (f.get('id'), f.get('profile')) for f in evaluate(facts or {})
           if f.get('key') in keys and remove & set(f.get('syscalls') or ())]
    for profile in _profiles(facts):
        if (profile.get('path') in targets or profile.get('realpath') in targets) and profile.get('path') not in failed:
            left = sorted(remove & set(profile.get('notify_syscalls') or ()))
            if left:
                out.append('%s still notifies %s' % (profile.get('path'), ', '.join(left)))
    return out


def changes(result, notify_removed, check_mode=False):
    """The change records of one profile_fix run (its ``profile_fix_result``), for rollback and the
    report: ``{path, backup, notify_removed}`` per rewritten file with its backup; in check mode the
    files that would change, with no backup."""
    result = result if isinstance(result, dict) else {}
    out = [{'path': entry.get('path'), 'backup': entry.get('backup'), 'notify_removed': list(notify_removed)}
           for entry in result.get('backup_files') or () if isinstance(entry, dict)]
    if check_mode:
        out += [{'path': path, 'backup': None, 'notify_removed': list(notify_removed)}
                for path in result.get('changed') or ()]
    return out
