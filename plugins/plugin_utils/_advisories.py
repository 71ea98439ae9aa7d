# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runc security advisories: which apply to a runtime build, the safe releases, the pin/upgrade policy.

Controller-only, pure stdlib, no I/O. The data is the generated table ``_runc_advisories`` (Go
vulnerability database, CC-BY-4.0); versions are ordered by ``module_utils._version.version_key``
(runc's real release order: ``1.0.0-rc10`` after ``rc9``, Go pseudo-versions after their base).

Statuses of an advisory for one runtime:

- ``open``: the build's version lies in an affected range;
- ``unknown``: a development build between a release that is affected and one that is not, or a
  build whose package changelog could not be read is still ``open`` (with that said) -- ``unknown``
  is only for what the version cannot decide;
- ``backported``: open by version, but the owning package's changelog names one of its ids (CVE,
  GHSA or GO): the distribution says it fixed it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from functools import lru_cache

from ansible_collections.runcguard.seccomp.plugins.module_utils._version import (
    is_final,
    normalise_version,
    release_line,
    version_key,
)
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _runc_advisories as _table

ATTRIBUTION = _table.ATTRIBUTION
RELEASES = _table.RELEASES
ADVISORIES = _table.ADVISORIES
# Bundling packages ship an upstream runc build: their changelog is not runc's (Docker's containerd.io).
UPSTREAM_BUILD_PACKAGES = ('containerd.io',)
MAX_CHANGELOG_IDS = 1000
NO_CRUN_DATA = ('the Go vulnerability database, the only advisory source this collection ships, has no crun '
                'entries (crun is written in C): check crun advisories with your distribution')


def advisory_ids(advisory):
    """Every id of one advisory: GO first, then CVE and GHSA."""
    return (advisory['go'],) + tuple(advisory['cve']) + tuple(advisory['ghsa'])


@lru_cache(maxsize=1)
def _by_id():
    index = {}
    for advisory in ADVISORIES:
        for one in advisory_ids(advisory):
            index[one.upper()] = advisory
    return index


def find_advisory(ident):
    """The advisory an id (GO-, CVE- or GHSA-, any case) names, or None."""
    return _by_id().get(str(ident).strip().upper()) if ident else None


def _in_range(key, introduced, fixed):
    low = introduced == '0' or key >= version_key(introduced)
    return low and (fixed is None or key < version_key(fixed))


def affects(advisory, version):
    """True when ``version`` (a release, candidate or Go pseudo-version) is in one of its ranges."""
    key = version_key(version)
    if key[0] < 0:
        return False
    return any(_in_range(key, introduced, fixed) for introduced, fixed in advisory['ranges'])


@lru_cache(maxsize=512)
def _matching(version):
    return tuple(a for a in ADVISORIES if affects(a, version))


def matching(version):
    """The advisories whose ranges contain ``version`` (as a tuple of table dicts)."""
    return _matching(version) if version else ()


def _next_releases(base):
    """Releases a development build after ``base`` comes before: the next one of its line and,
    for a final release, the first of the next line (main moved on to the next minor)."""
    key = version_key(base)
    later = [r for r in RELEASES if version_key(r) > key]
    same = [r for r in later if release_line(r) == release_line(base)]
    out = same[:1]
    if is_final(base):
        nxt = [r for r in later if version_key(r)[:2] > key[:2]]
        out.extend(nxt[:1])
    return out


@lru_cache(maxsize=1)
def line_floors():
    """{line: lowest final release of it that no advisory matches, or None}, lines in order."""
    floors = {}
    for release in RELEASES:
        line = release_line(release)
        floors.setdefault(line, None)
        if floors[line] is None and is_final(release) and not matching(release):
            floors[line] = release
    return floors


@lru_cache(maxsize=512)
def lowest_safe_release(minimum=None):
    """The lowest final release (>= minimum when given) that no advisory matches, or None."""
    floor = version_key(minimum) if minimum else None
    for release in RELEASES:
        if is_final(release) and not matching(release) and (floor is None or version_key(release) >= floor):
            return release
    return None


def line_floor(version):
    """The lowest safe release of ``version``'s line, or None (no release of that line is free)."""
    return line_floors().get(release_line(version))


def entry(advisory, status='open', why=None):
    """One advisory as reports show it."""
    return {
        'go': advisory['go'], 'cve': list(advisory['cve']), 'ghsa': list(advisory['ghsa']),
        'summary': advisory['summary'], 'fixed': list(advisory['fixed']), 'url': advisory['url'],
        'status': status, 'why': why,
    }


def _package(runtime):
    package = runtime.get('package')
    if not isinstance(package, dict) or not package.get('name'):
        return None
    return package


# runtime_advisories per distinct input: a fleet runs few builds, evaluated once per runtime entry.
_MEMO = {}
_MEMO_MAX = 4096


def _memo_key(runtime, kind):
    package = _package(runtime)
    if package is not None:
        ids = package.get('advisory_ids')
        package = (package.get('name'), package.get('manager'), package.get('version'),
                   tuple(ids) if isinstance(ids, list) else ids, package.get('changelog_error'))
    return (kind, runtime.get('version'), bool(runtime.get('error')), bool(runtime.get('dev')), package)


def runtime_advisories(runtime, kind):
    """``_runtime_advisories`` remembered per distinct input (version, error, dev, owning package):
    each call gets its own top-level dict and lists, the advisory entries are shared (read them only)."""
    try:
        key = _memo_key(runtime, kind)
        cached = _MEMO.get(key)
    except TypeError:  # unhashable host data: not remembered
        key, cached = None, None
    if cached is None:
        cached = _runtime_advisories(runtime, kind)
        if key is not None and len(_MEMO) < _MEMO_MAX:
            _MEMO[key] = cached
    return dict(cached, open=list(cached['open']), unknown=list(cached['unknown']),
                backported=list(cached['backported']))


def _runtime_advisories(runtime, kind):
    """What the advisory table says about one runtime entry of the facts (``kind``: runc, crun or None,
    as ``_hazards.runtime_kind`` tells).

    Returns ``{'covered', 'version', 'note', 'open', 'unknown', 'backported', 'line_floor',
    'safe_release'}``: ``covered`` False when nothing can be told (crun, no readable version) and
    ``note`` says why; the three lists hold ``entry()`` dicts; ``line_floor`` the lowest safe release
    of the build's line (None when that line has none), ``safe_release`` the lowest safe release
    at or above the build's version (None when no known release is free).
    """
    out = {'covered': False, 'version': None, 'note': None, 'open': [], 'unknown': [], 'backported': [],
           'line_floor': None, 'safe_release': None}
    if kind == 'crun':
        out['note'] = NO_CRUN_DATA
        return out
    if kind != 'runc':
        out['note'] = 'not known to be runc or crun: its advisories cannot be told'
        return out
    raw = runtime.get('version')
    version, dev = normalise_version(raw) if raw and not runtime.get('error') else (None, False)
    if not version:
        out['note'] = 'its version could not be read, so its advisories cannot be told'
        return out
    dev = dev or bool(runtime.get('dev'))
    out.update({'covered': True, 'version': version, 'line_floor': line_floor(version),
                'safe_release': lowest_safe_release(version)})
    found = matching(version)
    if dev:
        nexts = _next_releases(version)
        later = [set(a['go'] for a in matching(n)) for n in nexts]
        for advisory in ADVISORIES:
            here = advisory in found
            there = [advisory['go'] in s for s in later] or [here]
            if here and all(there):
                out['open'].append(entry(advisory, 'open', 'a development build after %s; %s carries it too'
                                         % (version, ' and '.join(nexts) or version)))
            elif here or any(there):
                states = ', '.join('%s %s' % (n, 'has it' if t else 'does not') for n, t in zip(nexts, there))
                out['unknown'].append(entry(advisory, 'unknown', (
                    'a development build after %s: %s %s it, %s; whether this build has the fix cannot be told '
                    'from its version' % (version, version, 'has' if here else 'lacks', states))))
        out['note'] = 'development build: advisories judged from the releases around %s' % version
    else:
        out['open'] = [entry(a) for a in found]
    _apply_backports(runtime, out)
    return out


def _apply_backports(runtime, out):
    """Move advisories the owning distribution package's changelog names to ``backported``."""
    package = _package(runtime)
    if package is None or package['name'] in UPSTREAM_BUILD_PACKAGES:
        return
    label = '%s package %s %s' % (package.get('manager') or 'distribution', package['name'],
                                  package.get('version') or '(version unknown)')
    ids = package.get('advisory_ids')
    if not isinstance(ids, list):
        if out['open'] or out['unknown']:
            problem = package.get('changelog_error') or 'was not read'
            note = ('%s: its changelog %s, so fixes the distribution backported cannot be told; advisories are '
                    'judged by the upstream version alone' % (label, problem))
            out['note'] = '; '.join(n for n in (out['note'], note) if n)
        return
    # host data: only strings, at most MAX_CHANGELOG_IDS of them (the scan writes at most 1000)
    named = set(i.strip().upper() for i in ids[:MAX_CHANGELOG_IDS] if isinstance(i, str))
    for kind in ('open', 'unknown'):
        kept = []
        for item in out[kind]:
            hits = [i for i in [item['go']] + item['cve'] + item['ghsa'] if i.upper() in named]
            if hits:
                item = dict(item, status='backported',
                            why='the changelog of %s names %s' % (label, ', '.join(hits)))
                out['backported'].append(item)
            else:
                kept.append(item)
        out[kind] = kept
    if out['open'] or out['unknown']:
        note = '%s: its changelog names no fix for the advisories left open' % label
        out['note'] = '; '.join(n for n in (out['note'], note) if n)


def describe(item):
    """'GO-2025-4096 (CVE-2025-31133, GHSA-9493-h29p-rfm2): summary; fixed in 1.2.8, 1.3.3'."""
    ids = ', '.join(item['cve'] + item['ghsa'])
    fixed = ', '.join(item['fixed']) or 'no fixed version'
    summary = item['summary'].replace(' in github.com/opencontainers/runc', '')
    return '%s%s: %s; fixed in %s' % (item['go'], ' (%s)' % ids if ids else '', summary, fixed)


# --- pin / upgrade policy ------------------------------------------------------------------------
# The first final release without the fcntl-under-NOTIFY hang (1.2.0-rc.1/rc.2 have it).
HANG_FIXED = '1.2.0'
ACTIONS = ('pin', 'upgrade')


def upgrade_floor():
    """The lowest release that fixes the hang and every advisory of the table (1.3.6 today)."""
    return lowest_safe_release(HANG_FIXED)


def safe_alternatives():
    """The lowest advisory-free release of every line that has one (1.3.6, 1.4.3, 1.5.0 today)."""
    return [floor for floor in line_floors().values() if floor and version_key(floor) >= version_key(HANG_FIXED)]


def _ids_upper(item):
    return set(i.upper() for i in [item['go']] + item['cve'] + item['ghsa'])


def open_advisories(version):
    """entry() dicts of the advisories a release (or candidate) carries, by version alone."""
    return [entry(a) for a in matching(version)]


def _names(items):
    return '; '.join(describe(i) for i in items)


def advisory_policy(action, version=None, accepted=(), offered=None):
    """Decide whether runc_pin may pin or upgrade to a runc version, before anything changes.

    action    'pin' (hold ``version``) or 'upgrade'.
    version   pin: the version to pin (required); upgrade: an exact target, or empty for the default.
    accepted  ids the operator accepts (``runc_pin_accept_advisories``): GO, CVE or GHSA, any case.
    offered   upgrade with the package method: the runc versions the repositories offer (None when
              unknown or for the binary method).

    Returns ``{ok, action, version, open, unaccepted, unknown_ids, alternatives, floor, message}``:
    ``version`` the runc release to install (upgrade: the explicit one, else the newest offered
    release at or above ``floor`` preferring an advisory-free one, else ``floor`` itself; None when
    nothing offered reaches ``floor``); ``open`` every advisory that release carries; ``unaccepted``
    those ``accepted`` does not name (``ok`` is False while any is left, or when ``accepted`` names an
    id the table does not know: a typo accepts nothing); ``alternatives`` the advisory-free releases.
    """
    floor = upgrade_floor()
    accepted = [str(a).strip() for a in accepted or () if str(a).strip()]
    named = set(a.upper() for a in accepted)
    unknown_ids = [a for a in accepted if find_advisory(a) is None]
    out = {'ok': False, 'action': action, 'version': None, 'open': [], 'unaccepted': [], 'unknown_ids': unknown_ids,
           'alternatives': safe_alternatives(), 'floor': floor, 'message': ''}
    if action not in ACTIONS:
        out['message'] = 'runc advisory policy: action must be one of %s, got %r' % (', '.join(ACTIONS), action)
        return out
    target, how = version, None
    if action == 'pin':
        if not version or version_key(version)[0] < 0:
            out['message'] = 'runc advisory policy: pin needs a runc version, got %r' % (version,)
            return out
        how = 'pinning runc %s' % version
    elif version:
        if not is_final(version) or version_key(version) < version_key(HANG_FIXED):
            out['message'] = ('runc advisory policy: upgrade target %r is not a final release at or above %s (the '
                              'fcntl hang fix)' % (version, HANG_FIXED))
            return out
        how = 'upgrading runc to %s (runc_pin_upgrade_version)' % version
    elif offered is not None:
        reach = sorted((v for v in offered if v and is_final(v) and version_key(v) >= version_key(floor)),
                       key=version_key)
        clean = [v for v in reach if not matching(v)]
        target = (clean or reach or [None])[-1]
        if target is None:
            out['message'] = ('runc advisory policy: no offered package ships a runc release at or above %s, the lowest '
                              'that fixes the fcntl hang and every advisory (offered: %s); use the binary method '
                              '(runc_pin_method: binary) or set runc_pin_upgrade_version'
                              % (floor, ', '.join(sorted(set(v for v in offered if v), key=version_key)) or 'none'))
            return out
        how = 'upgrading runc to %s (the newest offered release at or above %s)' % (target, floor)
    else:
        target = floor
        how = 'upgrading runc to %s (the lowest release that fixes the fcntl hang and every advisory)' % target
    out['version'] = target
    out['open'] = open_advisories(target)
    out['unaccepted'] = [i for i in out['open'] if not (_ids_upper(i) & named)]
    if unknown_ids:
        out['message'] = ('runc advisory policy: runc_pin_accept_advisories names %s, which no runc advisory has (a typo '
                          'accepts nothing); nothing was changed' % ', '.join(unknown_ids))
        return out
    if out['unaccepted']:
        out['message'] = ('refusing %s: it carries %d open security advisor%s: %s. Safe releases: %s. To go ahead anyway, '
                          'list every one of them by id (CVE, GHSA or GO) in runc_pin_accept_advisories; nothing was '
                          'changed.' % (how, len(out['unaccepted']), 'y' if len(out['unaccepted']) == 1 else 'ies',
                                        _names(out['unaccepted']), ', '.join(out['alternatives']) or 'none known'))
        return out
    out['ok'] = True
    if out['open']:
        out['message'] = '%s with %d accepted open advisor%s: %s' % (
            how, len(out['open']), 'y' if len(out['open']) == 1 else 'ies', ', '.join(i['go'] for i in out['open']))
    else:
        out['message'] = '%s: no open advisory' % how
    return out


def strategy_advisories(pin_version, upgrade_version=None):
    """What each runc strategy leaves open: {'upgrade_runc': {version, open: [GO ids]}, 'pin_runc': {...}}."""
    upgrade = upgrade_version or upgrade_floor()
    return dict((name, {'version': v, 'open': [a['go'] for a in matching(v)] if v else []})
                for name, v in (('upgrade_runc', upgrade), ('pin_runc', pin_version)))
