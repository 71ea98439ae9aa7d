# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who reads a NOTIFY profile: the set its readers see, and the runtimes that run it.

The readers themselves are defined once in ``module_utils/_profile.py``. Pure stdlib, no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import (
    EXPANDING_READERS,
    LITERAL_READERS,
    is_32bit,
)

# Engines a profile origin names -> engines whose runtimes run it.
_ORIGIN_TO_ENGINES = {
    'kubelet': ('containerd', 'cri-o', 'k3s', 'rke2', 'microk8s', 'k0s'),
    'containers-common': ('podman', 'cri-o'),
    'oci': (),  # a plain OCI reader (profile_paths reader: oci) names no engine
}
# Readers that decode a Docker-format profile as plain OCI; kubelet reads it as its CRI runtime does.
_LITERAL_READERS = LITERAL_READERS - {'kubelet'}


def _readers(profile):
    """Who reads the profile: each origin's ``reader`` (a profile_paths item's) or else its engine."""
    return set(o.get('reader') or o.get('engine') for o in profile.get('origin') or ()
               if isinstance(o, dict) and (o.get('reader') or o.get('engine')))


def effective_notify(profile, arch=None):
    """The profile's NOTIFY set as its readers read it; the union of every reading when they are
    mixed or unknown (``user`` without a reader, kubelet, an engine of its own)."""
    sets = profile.get('notify_sets') or {}
    engines = _readers(profile)
    names = profile.get('notify_syscalls') or []
    if engines and engines <= EXPANDING_READERS and 'expanded' in sets:
        names = sets['expanded']
    elif engines and engines <= _LITERAL_READERS and 'literal' in sets:
        names = sets['literal']
    names = set(n for n in names if isinstance(n, str))
    if 'fcntl64' in names and is_32bit(arch):
        names.add('fcntl')
    return names


def _owner_name(entry):
    owner = entry.get('owner')
    return owner.get('name') if isinstance(owner, dict) else None


def runtimes_for(profile, runtimes):
    """Runtimes that would run this profile; every runtime when the origin does not say.

    A user's profile (``owner``) is run by that user's runtimes (``users`` names the user), or by
    the system's when the user's setup names none; a system profile never by a user's own binary.
    """
    engines = set()
    for engine in _readers(profile):
        engines.update(_ORIGIN_TO_ENGINES.get(engine, (engine,)))
    bundle = profile.get('bundle') or {}
    if bundle.get('engine'):
        engines.add(bundle['engine'])
    owner = _owner_name(profile)
    if owner:
        mine = [r for r in runtimes if owner in (r.get('users') or ())]
        if not mine:
            mine = [r for r in runtimes if not _owner_name(r)]
        if 'nerdctl' in engines:
            engines.add('containerd')  # nerdctl's containers are run by the user's containerd
        used = [r for r in mine if engines & set(r.get('used_by') or ())]
        return used or mine
    runtimes = [r for r in runtimes if not _owner_name(r)]
    used = [r for r in runtimes if engines & set(r.get('used_by') or ())]
    return used or list(runtimes)
