# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remediation planning and verification for ``playbooks/remediate.yml`` (controller, pure stdlib).

``plan`` picks, per active finding at or above a severity, the first strategy of the operator's
policy that the catalogue allows for that hazard and that can apply to that finding; ``verdict``
compares a post-fix audit with the plan. No I/O: the role does the work, this decides.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._build_verdicts import runtime_kind
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import (
    CATALOGUE,
    SEVERITIES,
    severity_rank,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import is_32bit
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._advisories import strategy_advisories
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._query import QueryError, compile_query

# Strategies the remediate role can apply itself; the others need a person.
AUTOMATED = ('rewrite_profile', 'pin_runc', 'upgrade_runc')
RUNC_STRATEGIES = ('upgrade_runc', 'pin_runc')

DEFAULT_POLICY = {
    # Least invasive first: a profile rewrite needs no package change and no download.
    'notify-fcntl-hang': ['rewrite_profile', 'upgrade_runc', 'pin_runc'],
    'notify-write-rejected': ['rewrite_profile'],
    'crun-notify-sendmsg-hang': ['rewrite_profile'],
    'notify-unsupported': ['upgrade_runc'],
    # Observed on a canary (audit_probe): the post-fix audit probes again, so the fix is judged the same way.
    'notify-probe-hang': ['rewrite_profile', 'upgrade_runc'],
}


class PolicyError(ValueError):
    """The policy names an unknown hazard or a strategy the hazard cannot use."""


def check_policy(policy):
    """Raise PolicyError with every problem of the policy at once; return it normalised."""
    if not isinstance(policy, dict):
        raise PolicyError('policy must be a dict of hazard id -> list of strategies, got %s'
                          % type(policy).__name__)
    problems, out = [], {}
    for hazard_id in sorted(policy):
        strategies = policy[hazard_id]
        if hazard_id not in CATALOGUE:
            problems.append('unknown hazard id %r (known: %s)' % (hazard_id, ', '.join(sorted(CATALOGUE))))
            continue
        if strategies is None:
            strategies = []
        if not isinstance(strategies, (list, tuple)) or not all(isinstance(s, str) for s in strategies):
            problems.append('%s: strategies must be a list of names' % hazard_id)
            continue
        allowed = [s for s in CATALOGUE[hazard_id]['remediation'] if s in AUTOMATED]
        for name in strategies:
            if name not in allowed:
                problems.append('%s: %r is not an automatic strategy for this hazard (allowed: %s)'
                                % (hazard_id, name, ', '.join(allowed) or 'none, it needs a person'))
        out[hazard_id] = list(strategies)
    if problems:
        raise PolicyError('; '.join(problems))
    return out


def _bundle_paths(facts):
    return set(p.get('path') for p in (facts or {}).get('profiles') or ()
               if isinstance(p, dict) and (p.get('format') == 'bundle' or p.get('bundle')))


def _generated(finding):
    """The profile is generated at run time (nerdctl's bypass4netns profile): there is no file to rewrite."""
    return any(isinstance(o, dict) and o.get('engine') == 'nerdctl' for o in finding.get('origin') or ())


def _users_runc(finding):
    """The finding's runtime is a user's own binary (a rootless setup): the system's runc is not it."""
    runtime = finding.get('runtime')
    return isinstance(runtime, dict) and isinstance(runtime.get('owner'), dict)


def _linked_user_runtimes(facts):
    """Paths of users' own runtimes reached through a link (root never writes through a user's link)."""
    out = set()
    for entry in (facts or {}).get('runtimes') or ():
        if isinstance(entry, dict) and isinstance(entry.get('owner'), dict) and entry.get('realpath') \
                and entry.get('realpath') != entry.get('path'):
            out.add(entry.get('path'))
    return out


def _applies(strategy, finding, bundles, linked=()):
    """Can this strategy remove this finding on this host?"""
    if strategy == 'rewrite_profile':
        # A running container's config.json is never rewritten (no future container reads it), nor a
        # profile that only exists inside nerdctl.
        return bool(finding.get('profile')) and bool(finding.get('syscalls')) and finding['profile'] not in bundles \
            and not _generated(finding)
    if strategy in RUNC_STRATEGIES:
        runtime = finding.get('runtime')
        if not isinstance(runtime, dict) or runtime_kind(runtime) != 'runc':
            return False
        if _users_runc(finding):
            # a user's own runc: upgraded in place as the user's file (runc_pin's user_runc entry point);
            # never pinned (that points the system's engines elsewhere), never through a user's link
            return strategy == 'upgrade_runc' and runtime.get('path') not in linked
        return True
    return False


def manual_text(finding):
    """Exactly what a person changes for a finding no automatic strategy fits, or None."""
    runtime = finding.get('runtime') if isinstance(finding.get('runtime'), dict) else {}
    owner = finding.get('owner') if isinstance(finding.get('owner'), dict) else {}
    user = owner.get('name')
    steps = []
    if _generated(finding):
        steps.append('nerdctl generates this profile for containers run with nerdctl/bypass4netns=true (the '
                     'bypass4netns module it compiles in puts fcntl under SCMP_ACT_NOTIFY); there is no file to '
                     'rewrite: replace the runc that %s containerd runs (%s) with runc >= 1.2.0 (1.3.6 is safe for '
                     'every known advisory), or stop running containers with nerdctl/bypass4netns=true on it'
                     % ('the user %s\'s' % user if user else 'its', runtime.get('path') or 'its runc'))
    return '; '.join(steps) or None


def _user_runc(finding, linked=()):
    runtime = finding.get('runtime')
    owner = runtime.get('owner') if isinstance(runtime, dict) else None
    if not owner:
        return None
    name = owner.get('name') if isinstance(owner, dict) else owner
    path = runtime.get('path') or 'the runtime'
    if path in linked:
        return ('%s belongs to %s and is a link: root never writes through a user\'s link; upgrade the file it '
                'leads to as that user (runc >= 1.2.0; 1.3.6 is safe for every known advisory)' % (path, name))
    return ('%s belongs to %s: pin_runc never changes a user\'s own runc (it points the system\'s engines at '
            'another runc); upgrade_runc replaces it in place as that user\'s file' % (path, name))


def user_runcs(actions):
    """The users' own runc binaries the plan upgrades in place: [{path, owner: {name, uid}}], one per path."""
    out = {}
    for action in actions:
        runtime = action.get('runtime') if isinstance(action.get('runtime'), dict) else {}
        owner = runtime.get('owner')
        if action.get('strategy') == 'upgrade_runc' and isinstance(owner, dict) and runtime.get('path'):
            out.setdefault(runtime['path'], {'path': runtime['path'],
                                             'owner': {'name': owner.get('name'), 'uid': owner.get('uid')}})
    return [out[path] for path in sorted(out)]


def _ref(finding, strategy=None, why=None):
    out = {
        'key': finding.get('key'), 'id': finding.get('id'), 'severity': finding.get('severity'),
        'profile': finding.get('profile'), 'syscalls': list(finding.get('syscalls') or []),
        'runtime': finding.get('runtime'),
    }
    if isinstance(finding.get('owner'), dict):  # a rootless setup: the plan names the user
        out['owner'] = finding['owner']
    if strategy:
        out['strategy'] = strategy
    if why:
        out['why'] = why
    return out


def select_findings(findings, query):
    """The findings ``query`` (a compiled JMESPath expression over the host's findings list) picks.

    It sees every finding, waived ones included; it must give a list of findings
    (objects with an ``id``) or null. Raises QueryError when it fails on these findings.
    """
    chosen = query.search([f for f in findings or () if isinstance(f, dict)], "this host's findings")
    if chosen is None:
        return []
    if not isinstance(chosen, list) or not all(isinstance(f, dict) and f.get('id') for f in chosen):
        raise QueryError('%s: %s must give a list of findings, for example [?severity==\'critical\'], got %s'
                         % (query.variable, query.expression,
                            'a list of other values' if isinstance(chosen, list) else type(chosen).__name__))
    return chosen


def plan(findings, policy, min_severity='high', facts=None, select=None, pin_version=None, upgrade_version=None):
    """The remediation plan of one host.

    ``select``: a JMESPath expression choosing the findings to act on, instead of the default
    (active findings at or above ``min_severity``); see select_findings. When it fails on this
    host's findings the plan acts on nothing and carries ``error``.

    Returns {actions, manual, rewrite, runc_action, fingerprint} (+ error):
    actions  findings with the strategy chosen for each;
    manual   active findings at/above min_severity no automatic strategy can fix (with why);
    rewrite  [{notify_remove, paths}] grouped so each profile loses only its own hazardous syscalls;
    runc_action  'upgrade', 'pin' or None for the system's runc (upgrade wins: it fixes what a pin fixes);
    user_runcs  users' own runc binaries upgrade_runc replaces in place [{path, owner}] (user_runcs());
    runc_advisories  what each runc strategy leaves open: {upgrade_runc: {version, open: [GO ids]},
                 pin_runc: {...}} for ``upgrade_version`` (default: the lowest release fixing the hang
                 and every advisory) and ``pin_version`` (runc_pin_version; None: not known);
    fingerprint  stable hash of (key, strategy) pairs, to recognise a plan that failed before.
    """
    if min_severity not in SEVERITIES:
        raise PolicyError('min_severity must be one of %s, got %r' % (', '.join(SEVERITIES), min_severity))
    policy = check_policy(policy)
    floor = severity_rank(min_severity)
    bundles = _bundle_paths(facts)
    linked = _linked_user_runtimes(facts)
    arch = (facts or {}).get('arch')
    actions, manual, error = [], [], None
    if select is not None:
        try:
            query = compile_query(select, 'select')
        except QueryError as exc:
            raise PolicyError(str(exc))
        try:
            findings = select_findings(findings, query)
        except QueryError as exc:
            findings, error = [], str(exc)
    for finding in findings or ():
        if not isinstance(finding, dict):
            continue
        if select is None and (finding.get('waived') or severity_rank(finding.get('severity')) < floor):
            continue
        wanted = policy.get(finding.get('id'), [])
        chosen = next((s for s in wanted if _applies(s, finding, bundles, linked)), None)
        if chosen:
            actions.append(_ref(finding, chosen))
        elif wanted and manual_text(finding):
            manual.append(_ref(finding, why=manual_text(finding)))
        elif wanted:
            why = _user_runc(finding, linked) if any(w in RUNC_STRATEGIES for w in wanted) else None
            manual.append(_ref(finding, why=why or 'no strategy of the policy (%s) applies here' % ', '.join(wanted)))
        else:
            manual.append(_ref(finding, why='the policy has no automatic strategy for %s' % finding.get('id')))

    removals = {}
    for action in actions:
        if action['strategy'] == 'rewrite_profile':
            names = removals.setdefault(action['profile'], set())
            names.update(action['syscalls'])
            if 'fcntl' in names and is_32bit(arch):
                names.add('fcntl64')
    groups = {}
    for path, names in removals.items():
        groups.setdefault(tuple(sorted(names)), []).append(path)
    rewrite = [{'notify_remove': list(names), 'paths': sorted(paths)} for names, paths in sorted(groups.items())]

    # runc_action: the system's runc (runc_pin); users' own runc binaries are user_runcs (upgraded in place)
    strategies = set(a['strategy'] for a in actions if not _users_runc(a))
    runc_action = 'upgrade' if 'upgrade_runc' in strategies else 'pin' if 'pin_runc' in strategies else None
    pairs = sorted((a['key'] or '', a['strategy']) for a in actions)
    fingerprint = hashlib.sha256(json.dumps(pairs).encode('utf-8')).hexdigest()[:16] if pairs else None
    out = {'actions': actions, 'manual': manual, 'rewrite': rewrite, 'runc_action': runc_action,
           'user_runcs': user_runcs(actions),
           'runc_advisories': strategy_advisories(pin_version, upgrade_version), 'fingerprint': fingerprint}
    if error:
        out['error'] = error
    return out


def _identity(finding):
    # The runtime path may change with a fix (a side-by-side binary): the hazard on a profile is what counts.
    return (finding.get('id'), finding.get('profile'))


def verdict(the_plan, before, after, min_severity='high'):
    """Did the fix work? {ok, remaining, new}.

    remaining  post-fix findings (active, at/above min_severity) of a hazard/profile the plan targeted;
    new        post-fix findings at/above min_severity that were not there before (the fix made it worse).
    """
    if min_severity not in SEVERITIES:
        raise PolicyError('min_severity must be one of %s, got %r' % (', '.join(SEVERITIES), min_severity))
    floor = severity_rank(min_severity)

    def active(findings):
        return [f for f in findings or () if isinstance(f, dict) and not f.get('waived')
                and severity_rank(f.get('severity')) >= floor]

    targeted = set(_identity(a) for a in (the_plan or {}).get('actions') or ())
    seen = set(_identity(f) for f in active(before))
    remaining = [_ref(f) for f in active(after) if _identity(f) in targeted]
    new = [_ref(f) for f in active(after) if _identity(f) not in seen]
    return {'ok': not remaining and not new, 'remaining': remaining, 'new': new}
