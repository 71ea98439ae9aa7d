# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rewrite of a seccomp profile so chosen syscalls leave SCMP_ACT_NOTIFY, without changing anything else.

Pure stdlib, Python 3.9+; used by the ``seccomp_profile`` module on the host and the
``notify_rewrite`` filter on the controller.

Rules of the rewrite (see docs in the module):

* every removed syscall leaves every NOTIFY rule and gets one explicit, unconditional rule with the
  replacement action (``names`` key, no ``args``/``includes``/``excludes``), so it can never fall
  through to a deny ``defaultAction`` (nerdctl's bypass4netns profiles strip the notified names from
  every other rule);
* a NOTIFY rule left without names is removed; nothing else is touched, so every other syscall keeps
  the exact rule list it had, under both readings of a Docker-format profile (Docker/podman/CRI-O
  expand ``name``/``includes``/``excludes``; containerd/kubelet read the same file as plain OCI);
* ``notify_ensure`` syscalls stay (or become) NOTIFY triggers;
* every value the rewrite does not change keeps its exact bytes (``_layout.splice``); new values follow
  the file's own layout.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.runcguard.seccomp.plugins.module_utils._layout import (
    LayoutError, detect_style, dump, splice,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import (
    NOTIFY,
    ProfileError,
    decode_profile,
)

REPLACEMENT_ACTIONS = ('SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_ERRNO')
# Keys that select when a Docker-format rule applies; a rule without them applies everywhere.
_FILTER_KEYS = ('args', 'includes', 'excludes')


class RewriteError(Exception):
    """The rewrite cannot be done or its result failed validation; the message says why."""


def _is_notify(rule):
    return str(rule.get('action', '')).upper() == NOTIFY


def _unconditional(rule):
    return not any(rule.get(key) for key in _FILTER_KEYS)


def _dedupe(names):
    seen, out = set(), []
    for name in names or ():
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def _drop_names(rule, drop):
    """Remove ``drop`` from a rule's ``names``/``name``; returns the names removed, in rule order."""
    removed = []
    names = rule.get('names')
    if isinstance(names, list):
        kept = [n for n in names if n not in drop]
        removed.extend(n for n in names if n in drop)
        if len(kept) != len(names):
            rule['names'] = kept
    if isinstance(rule.get('name'), str) and rule['name'] in drop:
        removed.append(rule['name'])
        del rule['name']
    return removed


def _has_names(rule):
    return bool(rule.get('names')) or bool(rule.get('name'))


def refuse_bundle_message(path=None):
    where = ('%s is' % path) if path else 'this is'
    return ('%s the config.json of an OCI bundle (a created or running container): the runtime read it when '
            'the container was created and no future container uses it. Rewrite the profile the engine uses '
            'instead (daemon.json seccomp-profile, kubelet Localhost profile, containers.conf seccomp_profile).'
            % where)


def rewrite_section(section, fmt, notify_remove, replacement_action='SCMP_ACT_ALLOW', notify_ensure=(),
                    remove_unused_listener=False):
    """Return (new_section, report); ``section`` is not modified.

    ``fmt`` is ``oci`` or ``docker``; a bundle is refused (RewriteError).
    """
    if fmt == 'bundle':
        raise RewriteError(refuse_bundle_message())
    if fmt not in ('oci', 'docker'):
        raise RewriteError('unknown profile format %r' % (fmt,))
    action = str(replacement_action or '').upper()
    if action not in REPLACEMENT_ACTIONS:
        raise RewriteError('replacement_action must be one of %s, got %r'
                           % (', '.join(REPLACEMENT_ACTIONS), replacement_action))
    remove = _dedupe(notify_remove)
    ensure = _dedupe(notify_ensure)
    both = sorted(set(remove) & set(ensure))
    if both:
        raise RewriteError('syscalls both in notify_remove and notify_ensure: %s' % ', '.join(both))

    new = copy.deepcopy(section)
    rules = new.get('syscalls')
    report = {
        'removed': [], 'dropped_rules': 0, 'added_rule': None, 'ensured': [],
        'stripped_for_ensure': [], 'listener_removed': False,
        'notify_before': notify_names(section),
    }
    if not isinstance(rules, list):
        rules = []

    # 1. take the removed syscalls out of every NOTIFY rule
    kept_rules, insert_at = [], None
    for rule in rules:
        if isinstance(rule, dict) and _is_notify(rule):
            gone = _drop_names(rule, set(remove))
            if gone:
                if insert_at is None:
                    insert_at = len(kept_rules)
                for name in gone:
                    if name not in report['removed']:
                        report['removed'].append(name)
                if not _has_names(rule):
                    report['dropped_rules'] += 1
                    continue
        kept_rules.append(rule)

    # 2. an explicit rule for each removed syscall, unless one already gives it the replacement action
    #    everywhere (e.g. a second run, or a profile that also lists it in its allow rule)
    covered = set()
    for rule in kept_rules:
        if (isinstance(rule, dict) and str(rule.get('action', '')).upper() == action and _unconditional(rule)
                and isinstance(rule.get('names'), list)):
            covered.update(rule['names'])
    need = [n for n in report['removed'] if n not in covered]
    if need:
        added = {'names': need, 'action': action}
        if fmt == 'docker':
            added['comment'] = 'runcguard: moved out of SCMP_ACT_NOTIFY (runtime hang, see opencontainers/runc#4328)'
        kept_rules.insert(insert_at, added)
        report['added_rule'] = added

    # 3. notify_ensure: keep/make each one an unconditional NOTIFY trigger
    if ensure:
        _ensure_notify(new, kept_rules, ensure, report)

    if rules or kept_rules:
        new['syscalls'] = kept_rules
    report['notify_after'] = notify_names(new)
    if remove_unused_listener and not report['notify_after'] and str(new.get('defaultAction', '')).upper() != NOTIFY:
        for key in ('listenerPath', 'listenerMetadata'):
            if key in new:
                del new[key]
                report['listener_removed'] = True
    return new, report


def _ensure_notify(section, rules, ensure, report):
    present = set()
    for rule in rules:
        if isinstance(rule, dict) and _is_notify(rule) and _unconditional(rule):
            present.update(rule.get('names') or ())
    missing = [n for n in ensure if n not in present]
    if not missing:
        return
    if not section.get('listenerPath'):
        raise RewriteError('notify_ensure needs %s under SCMP_ACT_NOTIFY but the profile has no listenerPath '
                           '(runtimes refuse NOTIFY rules without a listener)' % ', '.join(missing))
    # An unconditional rule with another action for the same syscall conflicts with NOTIFY in
    # libseccomp, so the name leaves those rules (what nerdctl does for bypass4netns).
    kept = []
    for rule in rules:
        if isinstance(rule, dict) and not _is_notify(rule) and not rule.get('args'):
            gone = _drop_names(rule, set(missing))
            report['stripped_for_ensure'].extend(n for n in gone if n not in report['stripped_for_ensure'])
            if gone and not _has_names(rule):
                report['dropped_rules'] += 1
                continue
        kept.append(rule)
    rules[:] = kept
    target = None
    for rule in rules:
        if isinstance(rule, dict) and _is_notify(rule) and _unconditional(rule) and isinstance(rule.get('names'), list):
            target = rule
            break
    if target is None:
        target = {'names': [], 'action': NOTIFY}
        rules.append(target)
    target['names'].extend(missing)
    report['ensured'] = missing


def notify_names(section):
    """Every syscall named by a NOTIFY rule (``names`` or ``name``), sorted."""
    names = set()
    for rule in section.get('syscalls') or ():
        if isinstance(rule, dict) and _is_notify(rule):
            names.update(rule.get('names') or ())
            if isinstance(rule.get('name'), str):
                names.add(rule['name'])
    return sorted(names)


def rule_map(section):
    """{(reading, syscall): [rule without its names, ...]} in rule order.

    Two profiles with equal maps behave the same for every arch, capability set, kernel and
    argument value, under both the expanding (Docker) and the literal (OCI) reading.
    """
    out = {}
    for rule in section.get('syscalls') or ():
        if not isinstance(rule, dict):
            continue
        body = json.dumps(dict((k, v) for k, v in rule.items() if k not in ('names', 'name', 'comment')),
                          sort_keys=True)
        literal = list(rule.get('names') or ())
        expanded = list(literal)
        if isinstance(rule.get('name'), str):
            expanded.append(rule['name'])
        for reading, names in (('literal', literal), ('expanded', expanded)):
            for name in names:
                out.setdefault((reading, name), []).append(body)
    return out


def _top_level(section):
    return dict((k, v) for k, v in section.items() if k != 'syscalls')


def validate_result(before, after, fmt, notify_remove, replacement_action, touched=(),
                    remove_unused_listener=False):
    """Raise RewriteError unless ``after`` is what the rewrite promises relative to ``before``."""
    left = sorted(set(notify_names(after)) & set(notify_remove))
    if left:
        raise RewriteError('result still has %s under SCMP_ACT_NOTIFY' % ', '.join(left))
    action = str(replacement_action).upper()
    before_map, after_map = rule_map(before), rule_map(after)
    removed_before = set(notify_names(before)) & set(notify_remove)
    for name in removed_before:
        for reading in ('literal', 'expanded'):
            bodies = after_map.get((reading, name), [])
            if not any(json.loads(b).get('action', '').upper() == action and _unconditional(json.loads(b))
                       for b in bodies):
                raise RewriteError('result has no unconditional %s rule for %s (%s reading)' % (action, name, reading))
    # the removed syscalls' other rules stay as they were (only NOTIFY goes, one plain rule may come)
    plain = json.dumps({'action': action}, sort_keys=True)
    for name in removed_before:
        for reading in ('literal', 'expanded'):
            old = [b for b in before_map.get((reading, name), []) if b != plain
                   and str(json.loads(b).get('action', '')).upper() != NOTIFY]
            new = [b for b in after_map.get((reading, name), []) if b != plain]
            if old != new:
                raise RewriteError('result changes the non-NOTIFY rules of %s (%s reading)' % (name, reading))
    skip = set(notify_remove) | set(touched)
    for key in set(before_map) | set(after_map):
        if key[1] in skip:
            continue
        if before_map.get(key) != after_map.get(key):
            raise RewriteError('result changes the rules of %s (%s reading)' % (key[1], key[0]))
    top_before, top_after = _top_level(before), _top_level(after)
    if remove_unused_listener:
        for key in ('listenerPath', 'listenerMetadata'):
            top_before.pop(key, None)
            top_after.pop(key, None)
    if top_before != top_after:
        raise RewriteError('result changes top-level keys other than syscalls')


# ---------------------------------------------------------------- whole-file entry point

def rewrite_text(data, notify_remove, replacement_action='SCMP_ACT_ALLOW', notify_ensure=(),
                 remove_unused_listener=False, path=None):
    """Bytes of a profile file -> result dict; raises RewriteError (ProfileError is wrapped).

    Result: changed, format, before, after (texts), report, format_preserved.
    """
    duplicates = []
    try:
        doc, fmt = decode_profile(data, duplicates=duplicates)
    except ProfileError as exc:
        raise RewriteError(str(exc))
    if duplicates:
        raise RewriteError(duplicate_keys_message(duplicates))
    if fmt == 'bundle':
        raise RewriteError(refuse_bundle_message(path))
    original = data.decode('utf-8') if isinstance(data, bytes) else data
    bom = '\ufeff' if original.startswith('\ufeff') else ''
    text = original[len(bom):]
    new, report = rewrite_section(doc, fmt, notify_remove, replacement_action, notify_ensure,
                                  remove_unused_listener)
    result = {'changed': new != doc, 'format': fmt, 'report': report, 'before': original, 'after': original,
              'format_preserved': True}
    if not result['changed']:
        return result
    style = detect_style(text)
    try:
        after = splice(text, doc, new, style)
        if json.dumps(json.loads(after)) != json.dumps(new):
            raise LayoutError('spliced text differs from the rewritten profile')
    except (LayoutError, ValueError, RecursionError):
        after = dump(new, style)
        result['format_preserved'] = False
    # validate the bytes that would be written, not the in-memory object
    try:
        reread, refmt = decode_profile(after.encode('utf-8'))
    except ProfileError as exc:
        raise RewriteError('rewritten profile does not parse: %s' % exc)
    if refmt != fmt:
        raise RewriteError('rewritten profile reads as %s, was %s' % (refmt, fmt))
    validate_result(doc, reread, fmt, notify_remove, replacement_action,
                    touched=list(report['ensured']) + list(report['stripped_for_ensure']),
                    remove_unused_listener=remove_unused_listener)
    result['after'] = bom + after
    return result


def duplicate_keys_message(duplicates):
    shown = ', '.join(duplicates[:5]) + (' and %d more' % (len(duplicates) - 5) if len(duplicates) > 5 else '')
    return ('duplicate JSON keys (%s): the runtime reads only the last of each (objects merged), a rewrite '
            'would silently drop the others. Merge or remove the duplicates by hand first' % shown)
