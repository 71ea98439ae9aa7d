# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rootless user's bypass4netns agents and nerdctl: versions from Go build information (never run),
and the profile nerdctl generates for ``nerdctl/bypass4netns=true``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import bypass4netns as b4n
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.agents import module_versions, with_notify
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.user_engines import user_bin_dirs
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.user_files import lexists, open_owned

AGENT_NAMES = ('bypass4netns', 'bypass4netnsd')


def scan_agents(fs, scan, buildinfo):
    user = scan.user
    dirs = user_bin_dirs(user)
    for name in AGENT_NAMES:
        for d in dirs:
            path = os.path.join(d, name)
            if lexists(fs, path):
                scan.agents.append(with_notify(dict(_binary_info(fs, scan, path, buildinfo), name=name)))
    unit = scan.units.get('bypass4netnsd.service')
    sockets = []
    for sock in ('bypass4netnsd.sock', 'bypass4netnsd-com.sock', 'bypass4netns.sock'):
        path = os.path.join(user['runtime_dir'], sock)
        try:
            if stat.S_ISSOCK(os.lstat(fs.real(path)).st_mode):
                sockets.append(path)
        except OSError:
            pass
    if unit or sockets or 'bypass4netnsd' in user.get('processes', ()):
        scan.agents.append({'name': 'bypass4netnsd', 'unit': (unit or {}).get('path'), 'sockets': sockets,
                            'running': 'bypass4netnsd' in user.get('processes', ()), 'path': None})
    for d in dirs:
        path = os.path.join(d, 'nerdctl')
        if lexists(fs, path):
            _nerdctl(fs, scan, path, buildinfo)


def _binary_info(fs, scan, path, buildinfo):
    """{path, version, module, bypass4netns, error} of a user's Go binary from its build info (never run):
    ``agents.module_versions``, the one reading of a bypass4netns version."""
    info = {'path': path, 'version': None, 'error': None}
    try:
        fd = open_owned(fs, path, scan.user)
    except FileProblem as exc:
        info['error'] = scan.error(path, exc.message)
        return info
    try:
        found = buildinfo.read_build_info_fd(fd)
    finally:
        os.close(fd)
    if found.get('status') != 'found':
        info['error'] = found.get('reason') or 'no Go build information'
        return info
    info.update(module_versions(found))
    return info


def _nerdctl(fs, scan, path, buildinfo):
    info = with_notify(_binary_info(fs, scan, path, buildinfo))
    version = info.get('bypass4netns')
    row = b4n.notify_row(version) if version else None
    scan.nerdctl.append(info)
    if not row:
        return
    listener = os.path.join(scan.user['runtime_dir'], 'bypass4netns', '<container id[:15]>.sock')
    doc = b4n.generated_profile(row['names'], listener)
    scan.generated.append((
        '%s#bypass4netns' % path, path, json.dumps(doc, sort_keys=True).encode('utf-8'), 'nerdctl',
        'profile nerdctl %s generates for nerdctl/bypass4netns=true (bypass4netns %s compiled in; %s)'
        % (info.get('version') or '(version unknown)', version, row['source'])))
