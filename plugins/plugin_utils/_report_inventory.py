# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The fleet report's runtime inventory: one entry per runtime build with its verdict for every
catalogued hazard. Pure stdlib, no I/O."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._build_verdicts import runtime_kind
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import CATALOGUE, runtime_verdicts, severity_rank
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_text import one_line
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import version_key
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._advisories import runtime_advisories


# Probe findings: an observation about the build that ran the canary.
_OBSERVED = ('notify-probe-hang', 'notify-probe-disagrees')


def _verdict_inputs(runtime):
    """The fields runtime_verdicts reads, as a hashable key (one evaluation per distinct build)."""
    package = runtime.get('package') if isinstance(runtime.get('package'), dict) else {}
    ids = package.get('advisory_ids')
    return (runtime_kind(runtime), runtime.get('version'), runtime.get('commit'), bool(runtime.get('dev')),
            runtime.get('libseccomp'), bool(runtime.get('error')), one_line(package.get('name')),
            one_line(package.get('manager')), tuple(one_line(i) for i in ids) if isinstance(ids, list) else None)


def _advisory_counts(runtime):
    """GO ids per status (open, unknown, backported) of one runtime entry; None when not covered."""
    state = runtime_advisories(runtime, runtime_kind(runtime))
    if not state['covered']:
        return None
    return dict((key, [i['go'] for i in state[key]]) for key in ('open', 'unknown', 'backported'))


_UNSET = object()


def _merge_verdict(old, new):
    return new if old is _UNSET or old == new else 'mixed'


def runtime_inventory(fleet_hosts):
    """One entry per runtime build (name, version, commit) over the fleet: how many hosts run it,
    which engines use it, and its verdict for every catalogued hazard (``runtime_verdicts``: what
    the build would do if a profile asked; the probe hazards are true where a probe observed them
    on that build). Builds whose hosts differ in what decides a verdict (libseccomp, ...) get
    ``mixed`` for it. ``hits``: the hazards with a finding against this build on some host (its
    deployed profiles really trigger them), most severe first: only these are "affected"."""
    judged, builds = {}, {}
    for host in fleet_hosts:
        by_path = {}
        for runtime in host.get('runtimes') or []:
            if not isinstance(runtime, dict):
                continue
            name = runtime.get('name') or runtime_kind(runtime)
            key = (one_line(name), one_line(runtime.get('version')), one_line(runtime.get('commit')))
            build = builds.setdefault(key, {'name': name, 'version': runtime.get('version'),
                                            'commit': runtime.get('commit'), 'hosts': set(), 'engines': set(),
                                            'observed': set(), 'hits': set(),
                                            'verdicts': dict((h, _UNSET) for h in CATALOGUE), 'advisory_sets': {}})
            build['hosts'].add(host['host'])
            build['engines'].update(one_line(e) for e in runtime.get('used_by') or [] if e)
            # rootless setups: the users whose engines run this build (owner: the user's own binary)
            owner = runtime.get('owner') if isinstance(runtime.get('owner'), dict) else {}
            users = [u for u in runtime.get('users') or [] if isinstance(u, str)] + (
                [owner['name']] if isinstance(owner.get('name'), str) else [])
            build['engines'].update('user %s' % one_line(u) for u in users)
            inputs = _verdict_inputs(runtime)
            if inputs not in judged:
                judged[inputs] = (runtime_verdicts(runtime), _advisory_counts(runtime))
            verdicts, counts = judged[inputs]
            if counts is not None:
                for status, ids in counts.items():
                    build['advisory_sets'].setdefault(status, set()).update(ids)
            for hazard_id, verdict in verdicts.items():
                build['verdicts'][hazard_id] = _merge_verdict(build['verdicts'][hazard_id], verdict)
            by_path[runtime.get('path')] = build
        for finding in host.get('findings') or []:
            runtime = finding.get('runtime') if isinstance(finding.get('runtime'), dict) else {}
            build = by_path.get(runtime.get('path'))
            if build is None or not finding.get('id'):
                continue
            # a hazard a deployed profile (or the probe, or the build itself) really triggers here
            build['hits'].add(one_line(finding['id']))
            if finding['id'] in _OBSERVED:
                build['observed'].add(finding['id'])
    inventory = []
    for build in builds.values():
        observed = build.pop('observed')
        sets = build.pop('advisory_sets')
        verdicts = dict((h, True if h in observed else None if v is _UNSET else v) for h, v in build['verdicts'].items())
        # runc security advisories: open on at least one host running the build (a backport may differ
        # between hosts' packages); None when not covered (crun, no readable version)
        advisories = None if not sets else dict(
            (status, sorted(sets.get(status, ()))) for status in ('open', 'unknown', 'backported'))
        if advisories is not None:
            advisories['count'] = len(advisories['open'])
        inventory.append(dict(build, hosts=len(build['hosts']), engines=sorted(build['engines']), verdicts=verdicts,
                              hits=sorted(build['hits'], key=lambda h: (-severity_rank(
                                  (CATALOGUE.get(h) or {}).get('severity')), h)), advisories=advisories))
    return sorted(inventory, key=lambda b: (str(b['name'] or ''), version_key(b['version']), str(b['commit'] or '')))


def inventory_hazards(fleet):
    """Hazard ids the runtime inventory has a verdict for (the build-decided ones, then observed)."""
    ids = []
    for hazard in fleet['by_hazard']:
        if any(build['verdicts'].get(hazard['id']) is not None for build in fleet.get('runtime_inventory') or []):
            ids.append(hazard['id'])
    return ids
