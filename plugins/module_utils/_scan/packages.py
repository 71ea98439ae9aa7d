# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which package owns a runtime binary: dpkg-query / rpm queries for the runtime_facts scan.

Pure stdlib, Python 3.9+. Commands run through the scan's runner (argv lists only)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.runcguard.seccomp.plugins.module_utils import _command


def package_owners(fs, run, runtimes):
    """Owning package per runtime: one dpkg-query -S (or rpm -qf) call per binary, argv only."""
    dpkg, rpm = _command.find('dpkg-query'), _command.find('rpm')
    admin = [] if fs.root == '/' else ['--admindir=' + fs.real('/var/lib/dpkg')]
    owners = {}
    for rt in runtimes:
        if rt.get('realpath') is None:
            continue
        names = []
        for p in [rt['realpath']] + rt['paths']:
            if p not in names:
                names.append(p)
        if dpkg:
            rc, out, _err, problem = run([dpkg] + admin + ['-S'] + names)
            pkg = None if problem else _dpkg_owner(out.decode('utf-8', 'replace'), names)
            if pkg:
                owners[rt['realpath']] = pkg
        elif rpm:
            root = [] if fs.root == '/' else ['--root', fs.root]
            rc, out, _err, problem = run([rpm] + root + ['-qf', '--qf', '%{NAME}\t%{VERSION}-%{RELEASE}\n',
                                                                rt['realpath']])
            line = out.decode('utf-8', 'replace').strip().splitlines()
            if not problem and rc == 0 and line and '\t' in line[0]:
                name, version = line[0].split('\t', 1)
                rt['package'] = {'manager': 'rpm', 'name': name, 'version': version}
    if dpkg and owners:
        wanted = sorted(set(owners.values()))
        rc, out, _err, problem = run([dpkg] + admin + ['-W', '-f=${Package}\t${Version}\n'] + wanted)
        versions = {}
        for line in out.decode('utf-8', 'replace').splitlines():
            if '\t' in line:
                name, version = line.split('\t', 1)
                versions[name.split(':')[0]] = version
        for rt in runtimes:
            pkg = owners.get(rt.get('realpath'))
            if pkg:
                rt['package'] = {'manager': 'dpkg', 'name': pkg, 'version': versions.get(pkg)}


def _dpkg_owner(text, names):
    """Package name from `dpkg-query -S` lines like 'runc: /usr/sbin/runc' (diversions skipped)."""
    for line in text.splitlines():
        if line.startswith('diversion ') or ': ' not in line:
            continue
        pkgs, _sep, path = line.partition(': ')
        if path.strip() in names:
            return pkgs.split(',')[0].strip().split(':')[0]
    return None
