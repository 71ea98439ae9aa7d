# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Data and pure logic for the runc_pin role (used by the runc_pin_state module).

Pure stdlib, Python 3.9+. Holds the containerd.io -> bundled runc table (every row cites its
source) and the choice of the package version to install. The package queries themselves (owner,
installed, held, offered versions, dnf versionlocks) live in ``_scan/packages.py``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.runcguard.seccomp.plugins.module_utils._hazard_versions import FCNTL_HANG_FIRST_FIXED
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import (
    compare_versions, normalise_version, version_key,
)

_PKG = 'https://github.com/docker/containerd-packaging/pull/'

# Docker's containerd.io packages bundle their own runc (the package Provides/Replaces `runc`).
# Key: containerd upstream version (deb revision -1, rpm -3.1.elN / -3.1.fcN builds of it).
# first_line_wrong: the bundled runc prints containerd's version on its first line; its
# `commit:` line is right (fixed in 1.7.20 by docker/containerd-packaging commit 1d9c0d6).
CONTAINERD_IO_RUNC = {
    '1.6.20': {'runc': '1.1.5', 'source': _PKG + '313'},
    '1.6.21': {'runc': '1.1.7', 'source': _PKG + '316'},
    '1.6.22': {'runc': '1.1.8', 'source': _PKG + '322'},
    '1.6.25': {'runc': '1.1.10', 'source': _PKG + '336'},
    '1.6.27': {'runc': '1.1.11', 'source': _PKG + '339'},
    '1.7.18': {'runc': '1.1.13', 'source': _PKG + '373', 'first_line_wrong': True},
    '1.7.19': {'runc': '1.1.13', 'source': _PKG + '387', 'first_line_wrong': True},
    '1.7.20': {'runc': '1.1.13', 'source': _PKG + '387'},
    # 1.7.21 changed only the containerd binary and Go (runc stayed at 1.1.13)
    '1.7.21': {'runc': '1.1.13', 'source': _PKG + '389'},
    '1.7.22': {'runc': '1.1.14', 'source': _PKG + '393'},
    '1.7.24': {'runc': '1.2.2', 'source': _PKG + '400'},
    '1.7.25': {'runc': '1.2.4', 'source': _PKG + '406'},
    '1.7.26': {'runc': '1.2.5', 'source': _PKG + '409'},
}

# Packages known to ship the runc binary an engine runs.
BUNDLING_PACKAGES = ('containerd.io',)
DISTRO_PACKAGES = ('runc', 'runc-bin')


_EPOCH = re.compile(r'^\d+:')


def split_package_version(version):
    """'1:1.7.21-3.1.el9' -> ('1', '1.7.21', '3.1.el9'); revision may be ''."""
    epoch = ''
    match = _EPOCH.match(version)
    if match:
        epoch = match.group(0)[:-1]
        version = version[match.end():]
    upstream, sep, revision = version.rpartition('-')
    if not sep:
        upstream, revision = version, ''
    return epoch, upstream, revision


def runc_version_of_package(name, version):
    """The runc version a package version ships, or None when it cannot be known.

    containerd.io: from the table; distro runc: its upstream version (1.2.0~rc2+ds1 -> 1.2.0-rc.2).
    """
    if not version:
        return None
    upstream = split_package_version(version)[1]
    if name in BUNDLING_PACKAGES:
        core = re.match(r'^(\d+\.\d+\.\d+)', upstream)
        row = CONTAINERD_IO_RUNC.get(core.group(1)) if core else None
        return row['runc'] if row else None
    return normalise_version(upstream)[0]


def is_final(version):
    return bool(version) and version_key(version)[3] == 1 << 30


def is_fixed(version):
    """A final release at or after 1.2.0 (the issue's definition of the real fix)."""
    return is_final(version) and compare_versions(version, FCNTL_HANG_FIRST_FIXED) >= 0


# --- dnf versionlock ---------------------------------------------------------------------------
def dnf_lock_spec(name, evr):
    """The dnf4 versionlock.list line for one package: name-epoch:version-release.*"""
    epoch, upstream, revision = split_package_version(evr)
    return '%s-%s:%s-%s.*' % (name, epoch or '0', upstream, revision)


# --- plan --------------------------------------------------------------------------------------
def _same_package_version(a, b):
    """Compare ignoring a 0 epoch ('0:1.2-3' == '1.2-3')."""
    def strip(v):
        return v[2:] if v and v.startswith('0:') else v
    return strip(a) == strip(b)


def select_package_version(name, available, action, version, minimum=None, explicit=None):
    """Choose the package version to install and hold.

    available: versions offered (any order). action: 'pin' (runc == version) or 'upgrade'
    (a fixed runc >= minimum, or == version when given). Returns
    {'package_version', 'runc', 'reason'}; package_version None when nothing fits.
    """
    if explicit:
        match = [v for v in available if _same_package_version(v, explicit)]
        if not match:
            return {'package_version': None, 'runc': None,
                    'reason': '%s %s is not offered by the configured repositories' % (name, explicit)}
        return {'package_version': match[0], 'runc': runc_version_of_package(name, match[0]),
                'reason': 'explicit runc_pin_package_version'}
    candidates = []
    unknown = []
    for pv in available:
        runc = runc_version_of_package(name, pv)
        if runc is None:
            unknown.append(pv)
            continue
        if action == 'pin':
            ok = compare_versions(runc, version) == 0
        else:
            ok = is_fixed(runc) and compare_versions(runc, minimum or FCNTL_HANG_FIRST_FIXED) >= 0
            if version:
                ok = ok and compare_versions(runc, version) == 0
        if ok:
            row = CONTAINERD_IO_RUNC.get(split_package_version(pv)[1].split('~')[0], {})
            # a build whose first line lies is usable but only when nothing better exists
            candidates.append((0 if row.get('first_line_wrong') else 1, _deb_like_key(pv), pv, runc))
    if not candidates:
        want = ('runc %s' % version) if action == 'pin' or version else \
            ('a fixed runc >= %s' % (minimum or FCNTL_HANG_FIRST_FIXED))
        reason = 'no %s version offered ships %s (offered: %s)' % (
            name, want, ', '.join(available) or 'none')
        if unknown:
            reason += '; bundled runc unknown for %s' % ', '.join(unknown)
        return {'package_version': None, 'runc': None, 'reason': reason}
    candidates.sort()
    best = candidates[-1]
    return {'package_version': best[2], 'runc': best[3], 'reason': 'newest offered version shipping runc %s' % best[3]}


def _deb_like_key(version):
    """Rough ordering for package versions: numeric runs compare as numbers, '~' sorts first."""
    epoch, upstream, revision = split_package_version(version)
    parts = []
    for chunk in re.split(r'(\d+)', '%s-%s' % (upstream, revision)):
        if chunk.isdigit():
            parts.append((1, int(chunk), ''))
        elif chunk:
            parts.append((0 if chunk.startswith('~') else 2, 0, chunk))
    return (int(epoch or 0), parts)


def install_spec(manager, name, version):
    """What apt (``name=version``) or dnf (``name-version``, epoch 0 left out) installs exactly."""
    if manager == 'rpm':
        return '%s-%s' % (name, version[2:] if version.startswith('0:') else version)
    return '%s=%s' % (name, version)


def restore_specs(before):
    """From packages.json (the state before the first pin): install specs of the recorded versions (one
    transaction), the dpkg selections to put back and the packages the pin itself installed (``remove``)."""
    manager = before.get('manager')
    packages = before.get('packages') or {}
    install, selections = [], []
    for name in sorted(packages):
        info = packages[name] or {}
        if info.get('installed'):
            install.append(install_spec(manager, name, info['installed']))
            if info.get('selection'):
                selections.append({'name': name, 'selection': info['selection']})
    return {'manager': manager, 'install': install, 'selections': selections,
            'names': [n for n in sorted(packages) if (packages[n] or {}).get('installed')],
            'remove': list(before.get('installed_by_pin') or [])}


def plan(owners, packages, method, action, version, minimum=None, explicit=None):
    """Decide how to reach the wanted runc.

    owners: [{'path', 'package'}] for each engine-used runc; packages: {name: {'available': [...]}}.
    method: auto | package | binary. Returns a dict with 'method' and, for the package method,
    'package', 'package_version', 'runc'; 'problems' lists why a method could not be used.
    """
    problems = []
    names = []
    for owner in owners:
        if owner.get('package') is None:
            problems.append('%s is not owned by a package' % owner['path'])
        elif owner['package'] not in names:
            names.append(owner['package'])
    result = {'method': None, 'package': None, 'package_version': None, 'runc': None,
              'problems': problems, 'reason': None}
    if method in ('auto', 'package'):
        if not owners:
            problems.append('no engine uses a runc binary on this host')
        elif len(names) > 1:
            problems.append('engines use runc from several packages (%s); pin them one at a time '
                            'or use the binary method' % ', '.join(names))
        elif names and not problems:
            name = names[0]
            pick = select_package_version(name, packages.get(name, {}).get('available', []),
                                          action, version, minimum, explicit)
            if pick['package_version']:
                result.update({'method': 'package', 'package': name,
                               'package_version': pick['package_version'], 'runc': pick['runc'],
                               'reason': pick['reason']})
                return result
            problems.append(pick['reason'])
    if method in ('auto', 'binary'):
        if method == 'binary' or owners or not problems:
            why = 'requested' if method == 'binary' else 'chosen: ' + '; '.join(problems)
            result.update({'method': 'binary', 'runc': version, 'reason': 'binary method ' + why})
    return result


# --- the check after a change -------------------------------------------------------------------
def wrong_runtimes(runtimes, runc):
    """Messages for each engine-used runtime that does not run runc ``runc``, judged by the ``commit:``
    line (git describe tag) where the build has one: runtime_facts' version already prefers it when
    the first line lies (containerd.io 1.7.18/1.7.19)."""
    wrong = []
    for rt in runtimes or ():
        if not isinstance(rt, dict):
            continue
        version, commit = rt.get('version'), rt.get('commit') or ''
        tagged = re.match(r'^v\d+\.\d+\.\d+', commit)
        if version == runc and not (tagged and not commit.startswith('v%s-' % runc)):
            continue
        text = '%s use %s which reports runc %s (commit %s)' % (
            ', '.join(rt.get('used_by') or []), rt.get('path'), version or 'unknown', commit or '?')
        if rt.get('error'):
            text += ': %s' % rt['error']
        wrong.append(text)
    return wrong
