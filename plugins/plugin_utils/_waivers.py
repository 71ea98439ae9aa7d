# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waivers: accepted findings, matched by hazard id, host and profile, until an expiry date.

Pure stdlib, no I/O. Used by the ``apply_waivers`` / ``host_summary`` filters (controller).
A waiver is a dict::

    {id: "notify-runtime-sensitive", host: "web*", profile: "/etc/docker/*.json",
     reason: "agent needs close", expires: "2026-12-31"}

``id``, ``host`` and ``profile`` are shell-style globs (fnmatch, case-sensitive); ``host`` and
``profile`` default to ``*``. A waiver applies up to and including its ``expires`` day (UTC).
An expired waiver no longer applies: the finding stays active and carries the expired waiver so
the report can say so.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import fnmatch

WAIVER_KEYS = ('id', 'host', 'profile', 'reason', 'expires')


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


def normalize_waivers(waivers):
    """Validate waivers; return a list of clean dicts (expires as ISO string). Raises WaiverError."""
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
        clean = {
            'id': str(waiver['id']),
            'host': str(waiver.get('host') or '*'),
            'profile': str(waiver.get('profile') or '*'),
            'reason': str(waiver['reason']),
            'expires': _parse_day(waiver['expires'], '%s expires' % where).isoformat(),
        }
        out.append(clean)
    return out


def _matches(waiver, finding, host):
    profile = finding.get('profile')
    profile = '' if profile is None else str(profile)
    return (fnmatch.fnmatchcase(str(finding.get('id', '')), waiver['id'])
            and fnmatch.fnmatchcase(str(host), waiver['host'])
            and fnmatch.fnmatchcase(profile, waiver['profile']))


def apply_waivers(findings, waivers, host, today=None):
    """Return copies of ``findings`` with ``waived`` (bool) and ``waiver`` (dict or None) set.

    The first active matching waiver wins. When only expired waivers match, the finding stays
    active and ``waiver`` holds the (first) expired one with ``expired: true``.
    """
    waivers = normalize_waivers(waivers)
    day = today_utc() if today is None else _parse_day(today, 'today')
    out = []
    for finding in findings or []:
        if not isinstance(finding, dict):
            raise WaiverError('each finding must be a dict, got %s' % type(finding).__name__)
        item = dict(finding)
        item['waived'] = False
        item['waiver'] = None
        expired = None
        for waiver in waivers:
            if not _matches(waiver, finding, host):
                continue
            if _parse_day(waiver['expires'], 'expires') >= day:
                item['waived'] = True
                item['waiver'] = dict(waiver, expired=False)
                break
            if expired is None:
                expired = dict(waiver, expired=True)
        if not item['waived'] and expired is not None:
            item['waiver'] = expired
        out.append(item)
    return out
