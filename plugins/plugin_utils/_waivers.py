# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waivers: accepted findings, matched by hazard id, host and profile, until an expiry date.

No I/O. Used by the ``apply_waivers`` / ``host_summary`` filters (controller).
A waiver is a dict::

    {id: "notify-runtime-sensitive", host: "web*", profile: "/etc/docker/*.json",
     when: "contains(origin[].engine, 'kubelet')", reason: "agent needs close", expires: "2026-12-31"}

``id``, ``host`` and ``profile`` are shell-style globs (fnmatch, case-sensitive); ``host`` and
``profile`` default to ``*``. ``when`` (optional) is a JMESPath expression over the finding
(plugin_utils._query, compiled once); the waiver covers a finding only when its globs match and
``when`` gives a truthy result. A ``when`` that fails on a finding (a type error) does not waive
it: the finding stays active with ``waiver_error`` saying why.
A waiver applies up to and including its ``expires`` day (UTC). An expired waiver no longer
applies: the finding stays active and carries the expired waiver so the report can say so.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import fnmatch

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import CATALOGUE
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._query import QueryError, compile_query

WAIVER_KEYS = ('id', 'host', 'profile', 'owner', 'when', 'reason', 'expires')


class WaiverError(ValueError):
    """A waiver definition is unusable; the message names the waiver and the problem."""


def _parse_day(value, what):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if not isinstance(value, str):
        raise WaiverError('%s must be a date YYYY-MM-DD, got %r' % (what, value))
    try:
        return datetime.datetime.strptime(value.strip(), '%Y-%m-%d').date()
    except ValueError:
        raise WaiverError('%s must be a date YYYY-MM-DD, got %r' % (what, value))


def today_utc():
    return datetime.datetime.now(datetime.timezone.utc).date()


def normalize_waivers(waivers, variable=None):
    """Validate waivers; return a list of clean dicts (expires as ISO string). Raises WaiverError.

    ``variable`` (e.g. ``audit_waivers``) prefixes a ``when`` error so it names the setting.
    """
    return [clean for clean, dummy, dummy in _prepare(waivers, variable)]


def _prepare(waivers, variable=None):
    """[(clean waiver, expiry date, compiled when or None)]: parse and compile once per call."""
    if waivers is None:
        return []
    if not isinstance(waivers, (list, tuple)):
        raise WaiverError('waivers must be a list of dicts, got %s' % type(waivers).__name__)
    out = []
    for index, waiver in enumerate(waivers):
        where = 'waiver #%d' % (index + 1)
        if not isinstance(waiver, dict):
            raise WaiverError('%s must be a dict, got %s' % (where, type(waiver).__name__))
        unknown = sorted(set(waiver) - set(WAIVER_KEYS))
        if unknown:
            raise WaiverError('%s has unknown key(s): %s' % (where, ', '.join(unknown)))
        for key in ('id', 'reason', 'expires'):
            if waiver.get(key) in (None, ''):
                raise WaiverError('%s needs a non-empty %r' % (where, key))
        day = _parse_day(waiver['expires'], '%s expires' % where)
        clean = {
            'id': str(waiver['id']),
            'host': str(waiver.get('host') or '*'),
            'profile': str(waiver.get('profile') or '*'),
            'reason': str(waiver['reason']),
            'expires': day.isoformat(),
        }
        if waiver.get('owner') not in (None, ''):  # a rootless setup's user (glob); absent: every finding
            clean['owner'] = str(waiver['owner'])
        # A mistyped id would silently waive nothing: refuse it before any host is audited.
        if not any(fnmatch.fnmatchcase(hazard, clean['id']) for hazard in CATALOGUE):
            raise WaiverError('%s: id %r matches no hazard id (known: %s)'
                              % (where, clean['id'], ', '.join(sorted(CATALOGUE))))
        query = None
        if waiver.get('when') not in (None, ''):
            label = '%s when' % where if variable is None else '%s: %s when' % (variable, where)
            try:
                query = compile_query(waiver['when'], label)
            except QueryError as exc:
                raise WaiverError(str(exc))
            clean['when'] = query.expression
        out.append((clean, day, query))
    return out


def _matches(waiver, finding, host):
    profile = finding.get('profile')
    profile = '' if profile is None else str(profile)
    return (fnmatch.fnmatchcase(str(finding.get('id', '')), waiver['id'])
            and fnmatch.fnmatchcase(str(host), waiver['host'])
            and fnmatch.fnmatchcase(profile, waiver['profile'])
            and fnmatch.fnmatchcase(_owner(finding), waiver.get('owner', '*')))


def _owner(finding):
    """The finding's user name (a rootless setup), '' for the system's."""
    owner = finding.get('owner')
    return str(owner.get('name') or '') if isinstance(owner, dict) else ''


def apply_waivers(findings, waivers, host, today=None, variable=None):
    """Return copies of ``findings`` with ``waived`` (bool) and ``waiver`` (dict or None) set.

    The first active matching waiver wins. When only expired waivers match, the finding stays
    active and ``waiver`` holds the (first) expired one with ``expired: true``. Globs are checked
    before ``when``.
    """
    prepared = _prepare(waivers, variable)
    day = today_utc() if today is None else _parse_day(today, 'today')
    out = []
    for finding in findings or []:
        if not isinstance(finding, dict):
            raise WaiverError('each finding must be a dict, got %s' % type(finding).__name__)
        item = dict(finding)
        item['waived'] = False
        item['waiver'] = None
        expired = None
        for waiver, expires, query in prepared:
            active = expires >= day
            if not (active or expired is None) or not _matches(waiver, finding, host):
                continue
            if query is not None:
                try:
                    if not query.matches(finding, 'finding %s' % (finding.get('key') or finding.get('id'))):
                        continue
                except QueryError as exc:
                    item.setdefault('waiver_error', str(exc))
                    continue
            if active:
                item['waived'] = True
                item['waiver'] = dict(waiver, expired=False)
                break
            expired = dict(waiver, expired=True)
        if not item['waived'] and expired is not None:
            item['waiver'] = expired
        out.append(item)
    return out
