# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one package-query module of host code: dpkg (dpkg-query, apt-cache) and rpm (rpm, dnf).

Pure stdlib, Python 3.9+. Which package owns a file (merged-/usr variants tried), installed versions,
dpkg selections and holds, versions the repositories offer, dnf's generation and versionlocks. The
runtime_facts scan on rpm hosts (``rpm_package_owners``) and runc_pin_state use it. Commands go through the
caller's runner ``run(argv) -> (rc, stdout text, stderr text)`` (argv lists only, bounded by the
caller); parsers are pure functions of the command output.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.runcguard.seccomp.plugins.module_utils import _command
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.toml import TomlError, loads as toml_loads

_EPOCH = re.compile(r'^\d+:')


# --- package owner ----------------------------------------------------------------------------
def parse_rpm_owner(output):
    """[(name, 'E:V-R')] from `rpm -qf --qf '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'`."""
    out = []
    for line in output.splitlines():
        parts = line.strip().split('\t')
        if len(parts) == 2 and parts[0] and not line.startswith('file '):
            out.append((parts[0], parts[1]))
    return out


def path_candidates(path, realpath=None):
    """Paths to ask the package database about: merged-/usr systems list /bin/x or /usr/bin/x."""
    seen = []
    for p in (path, realpath):
        if not p:
            continue
        variants = [p]
        if p.startswith('/usr/'):
            variants.append(p[4:])
        elif p.startswith(('/bin/', '/sbin/')):
            variants.append('/usr' + p)
        for v in variants:
            if v not in seen:
                seen.append(v)
    return seen


# --- available versions ------------------------------------------------------------------------
def parse_apt_madison(output, name):
    """Versions of NAME from `apt-cache madison NAME`, newest first as apt lists them."""
    versions = []
    for line in output.splitlines():
        parts = [p.strip() for p in line.split('|')]
        if len(parts) >= 3 and parts[0] == name and parts[1] and parts[1] not in versions:
            versions.append(parts[1])
    return versions


def parse_dnf_repoquery(output, name):
    """Versions 'E:V-R' of NAME from `dnf repoquery --qf '%{name}|%{epoch}|%{version}|%{release}\\n'`.

    dnf5 expands the trailing \\n; dnf4 prints one package per line and may keep a literal \\n.
    """
    versions = []
    for line in output.replace('\\n', '\n').splitlines():
        parts = line.strip().split('|')
        if len(parts) != 4 or parts[0] != name:
            continue
        epoch = parts[1] if parts[1] not in ('', '(none)') else '0'
        evr = '%s:%s-%s' % (epoch, parts[2], parts[3])
        if evr not in versions:
            versions.append(evr)
    return versions


def dnf_major(version_output, dnf_realpath=None):
    """4 or 5 from `dnf --version` output and/or the resolved path of /usr/bin/dnf."""
    if dnf_realpath and dnf_realpath.rstrip('/').endswith('/dnf5'):
        return 5
    first = (version_output or '').strip().splitlines()[:1]
    if first and (first[0].startswith('dnf5') or re.match(r'^5\.\d', first[0])):
        return 5
    return 4


# --- dnf versionlock ---------------------------------------------------------------------------
DNF4_LOCKLIST = '/etc/dnf/plugins/versionlock.list'
DNF5_LOCKLIST = '/etc/dnf/versionlock.toml'


def parse_dnf4_locklist(text):
    """{name: [evr, ...]} locked by a dnf4 versionlock.list (excludes, '!' lines, are skipped)."""
    locks = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(('#', '!')):
            continue
        # name-[epoch:]version-release.arch ; arch often '*'
        match = re.match(r'^(.+)-(?:(\d+):)?([^-]+)-([^-]+?)(?:\.([^.]+|\*))?$', line)
        if not match:
            continue
        name, epoch, ver, rel = match.group(1), match.group(2) or '0', match.group(3), match.group(4)
        locks.setdefault(name, []).append('%s:%s-%s' % (epoch, ver, rel))
    return locks


def parse_dnf5_locklist(text):
    """{name: [evr, ...]} from a dnf5 versionlock.toml (only '=' / 'evr' conditions count)."""
    try:
        data = toml_loads(text)
    except TomlError as exc:
        raise ValueError('invalid versionlock.toml: %s' % exc)
    locks = {}
    for pkg in data.get('packages', []) if isinstance(data, dict) else []:
        if not isinstance(pkg, dict) or not isinstance(pkg.get('name'), str):
            continue
        for cond in pkg.get('conditions', []):
            if isinstance(cond, dict) and cond.get('key') == 'evr' and cond.get('comparator') in ('=', '=='):
                value = str(cond.get('value', ''))
                if not _EPOCH.match(value):
                    value = '0:' + value
                locks.setdefault(pkg['name'], []).append(value)
    return locks


# --- queries -----------------------------------------------------------------------------------
def text_runner(run):
    """A runner giving text from one giving bytes and a problem (``_command.run`` style, bound to a timeout)."""
    def text_run(argv):
        rc, out, err, problem = run(argv)
        return (None if problem else rc), out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')
    return text_run


def manager():
    """V(dpkg), V(rpm) or None: the package manager of this host."""
    if _command.find('dpkg-query'):
        return 'dpkg'
    if _command.find('rpm'):
        return 'rpm'
    return None


def rpm_owner(run, path, realpath=None, root=()):
    """(name, 'E:V-R') of the package owning ``path`` (or its twins), or None."""
    for cand in path_candidates(path, realpath):
        rc, out, dummy = run(['rpm'] + list(root) + ['-qf', '--qf', '%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n',
                                                     cand])
        if rc == 0:
            owners = parse_rpm_owner(out)
            if owners:
                return owners[0]
    return None


def dpkg_info(run, name):
    """{'installed', 'selection', 'held', 'available'} of a package on a dpkg host."""
    rc, out, dummy = run(['dpkg-query', '-W', '-f=${Status}\t${Version}\n', name])
    installed, selection = None, None
    if rc == 0 and out.strip():
        status, dummy, version = out.splitlines()[0].partition('\t')
        words = status.split()
        selection = words[0] if words else None
        if len(words) == 3 and words[2] in ('installed', 'half-configured', 'unpacked'):
            installed = version or None
    rc, out, dummy = run(['apt-cache', 'madison', name])
    available = parse_apt_madison(out, name) if rc == 0 else []
    return {'installed': installed, 'selection': selection, 'held': selection == 'hold', 'available': available}


def dnf_info(run, dnf):
    """{'bin', 'major', 'locklist'} of the dnf at path ``dnf``, or None."""
    if not dnf:
        return None
    dummy, out, dummy2 = run([dnf, '--version'])
    major = dnf_major(out, os.path.realpath(dnf))
    return {'bin': dnf, 'major': major, 'locklist': DNF5_LOCKLIST if major == 5 else DNF4_LOCKLIST}


def rpm_info(run, dnf, locks, name):
    """{'installed', 'selection' (None), 'held', 'available'} of a package on an rpm host."""
    rc, out, dummy = run(['rpm', '-q', '--qf', '%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n', name])
    installed = out.splitlines()[0].strip() if rc == 0 and out.strip() else None
    available = []
    if dnf:
        rc, out, dummy = run([dnf, 'repoquery', '-q', '--qf', '%{name}|%{epoch}|%{version}|%{release}\\n', name])
        available = parse_dnf_repoquery(out, name) if rc == 0 else []
    return {'installed': installed, 'selection': None, 'held': name in locks, 'available': available}


def parse_locks(major, text):
    """{name: [evr]} of a versionlock file of dnf ``major`` (ValueError when it cannot be read)."""
    return parse_dnf5_locklist(text) if major == 5 else parse_dnf4_locklist(text)


def rpm_package_owners(fs, run, runtimes):
    """runtime_facts on rpm hosts: set ``package`` {manager, name, version} on each runtime a package
    owns (``rpm -qf``: rpm answers from its index; dpkg hosts are answered from dpkg's files by
    ``_scan.pkgdb``). ``run``: the scan's runner (``_command.run`` style); the version is V-R, no epoch.
    """
    if not _command.find('rpm'):
        return
    run = text_runner(run)
    root = [] if fs.root == '/' else ['--root', fs.root]
    for rt in runtimes:
        found = rpm_owner(run, rt['realpath'], None, root)
        if found:
            rt['package'] = {'manager': 'rpm', 'name': found[0], 'version': _EPOCH.sub('', found[1])}
