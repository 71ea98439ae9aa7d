# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The canary's OCI bundle: config.json with the NOTIFY profile, rootfs made of host directories."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

# Host directories the canary rootfs is made of (read-only bind mounts, or the same symlinks).
ROOTFS_DIRS = ('usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32')


def notify_profile(syscalls, listener_path):
    """OCI seccomp section: allow everything, send exactly `syscalls` to the agent."""
    return {
        'defaultAction': 'SCMP_ACT_ALLOW',
        'listenerPath': listener_path,
        'syscalls': [{'names': sorted(set(syscalls)), 'action': 'SCMP_ACT_NOTIFY'}],
    }


def rootfs_layout(root='/'):
    """(symlinks {name: target}, bind dirs [name]) mirroring the host's /usr and lib dirs."""
    links, binds = {}, []
    for name in ROOTFS_DIRS:
        path = os.path.join(root, name)
        if os.path.islink(path):
            links[name] = os.readlink(path)
        elif os.path.isdir(path):
            binds.append(name)
    return links, binds


def canary_config(container_id, syscalls, listener_path, no_new_privileges, binds, rootfs='rootfs'):
    """The canary's config.json: `true` in new namespaces, read-only host /usr and libs."""
    mounts = [
        {'destination': '/proc', 'type': 'proc', 'source': 'proc', 'options': ['nosuid', 'noexec', 'nodev']},
        {'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs',
         'options': ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
    ]
    for name in binds:
        mounts.append({'destination': '/' + name, 'type': 'bind', 'source': '/' + name,
                       'options': ['bind', 'ro', 'nosuid', 'nodev']})
    return {
        'ociVersion': '1.0.2',
        'process': {
            'terminal': False,
            'user': {'uid': 0, 'gid': 0},
            'args': ['true'],
            'env': ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
            'cwd': '/',
            'capabilities': {'bounding': [], 'effective': [], 'permitted': [], 'inheritable': [], 'ambient': []},
            'noNewPrivileges': bool(no_new_privileges),
        },
        'root': {'path': rootfs, 'readonly': True},
        'hostname': container_id[:63],
        'mounts': mounts,
        'linux': {
            # cgroupfs path of its own (never a systemd unit): found and removed by id.
            'cgroupsPath': '/' + container_id,
            'resources': {'devices': [{'allow': False, 'access': 'rwm'}]},
            'namespaces': [{'type': t} for t in ('pid', 'network', 'ipc', 'uts', 'mount')],
            'seccomp': notify_profile(syscalls, listener_path),
        },
    }
