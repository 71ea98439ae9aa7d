# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Readers for container engine configuration (docker, containerd/k3s/rke2, CRI-O, podman).

Pure stdlib, Python 3.9+. Each reader returns an Engine: the facts it shows the user plus the
runtime binaries (`uses`) and seccomp profiles (`profiles`) the configuration points at. A bad
file gives `error` text on that engine; the other engines and files are still read.
All paths are host paths; `fs` maps them to where they are readable (a test root or '/').
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

from ansible_collections.runcguard.seccomp.plugins.module_utils._command import SEARCH_PATH
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import (
    FileProblem, list_dir, read_text,
)

# PATH of a systemd service (dockerd, containerd, crio): where a bare runtime name is looked up.
SERVICE_PATH = SEARCH_PATH
CONFIG_LIMIT = 1 << 20  # engine config files larger than 1 MiB are refused

# The one list of runtime locations: discovery scans them, notify_probe finds runtimes there, and
# podman's built-in table (containers/common) is the same directories in the same order.
RUNTIME_NAMES = ('runc', 'crun')
RUNTIME_DIRS = ('/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin', '/sbin', '/bin',
                '/usr/lib/cri-o-runc/sbin', '/usr/libexec/crio', '/run/current-system/sw/bin')
# (glob, engine that owns binaries found there)
RUNTIME_GLOBS = (
    ('/var/lib/rancher/k3s/data/*/bin/%s', 'k3s'),
    ('/var/lib/rancher/rke2/bin/%s', 'rke2'),
    ('/var/lib/rancher/rke2/data/*/bin/%s', 'rke2'),
    ('/snap/microk8s/current/bin/%s', 'microk8s'),
    ('/var/lib/k0s/bin/%s', 'k0s'),
)
# Distributions that ship their own runtimes under one root: a binary below it is used by them.
DISTRIBUTION_ROOTS = (('/var/lib/rancher/k3s/', 'k3s'), ('/var/lib/rancher/rke2/', 'rke2'),
                      ('/snap/microk8s/', 'microk8s'), ('/var/lib/k0s/', 'k0s'))
_PODMAN_DEFAULT_PATHS = dict((name, [os.path.join(d, name) for d in RUNTIME_DIRS]) for name in RUNTIME_NAMES)

# containerd CRI plugin key per config `version`.
_CRI_PLUGIN = {1: ('cri', 'io.containerd.grpc.v1.cri'), 2: ('io.containerd.grpc.v1.cri',),
               3: ('io.containerd.cri.v1.runtime',)}
_RUNC_SHIMS = ('io.containerd.runc.v2', 'io.containerd.runc.v1', 'io.containerd.runtime.v1.linux')


class Engine(object):

    def __init__(self, name):
        self.name = name
        self.present = False
        self.config = []
        self.default_runtime = None
        self.runtimes = {}
        self.seccomp_profile = None
        self.errors = []
        # internal: [(engine, setting, candidates, named)] - candidates: host paths, first existing
        # wins; named: what the config names explicitly (None for a built-in default lookup)
        self.uses = []
        # internal: [(host path, setting)]
        self.profiles = []
        self.extra = {}

    def use(self, setting, candidates, named=None):
        self.uses.append((self.name, setting, [c for c in candidates if c], named))

    def facts(self):
        out = {
            'present': self.present,
            'config': self.config,
            'default_runtime': self.default_runtime,
            'runtimes': self.runtimes,
            'seccomp_profile': self.seccomp_profile,
            'error': '; '.join(self.errors) or None,
        }
        out.update(self.extra)
        return out


def _load(fs, engine, path, kind):
    """Parse one config file (json or toml) into a dict, recording errors; None when unusable."""
    try:
        if getattr(fs, 'confined', False):  # an audited root: read through its confined walk
            text = fs.read_text(path, CONFIG_LIMIT, 'config limit')
        else:
            text = read_text(fs.real(path), CONFIG_LIMIT)
    except FileProblem as exc:
        engine.errors.append('%s: %s' % (path, exc.message))
        return None
    engine.config.append(path)
    if kind == 'toml':
        from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import toml  # lazy: see _scan/__init__.py
        parse = toml.loads
    else:
        parse = json.loads
    try:
        data = parse(text)
    except ValueError as exc:  # json.JSONDecodeError and TomlError are ValueErrors
        engine.errors.append('%s: invalid %s: %s' % (path, kind.upper(), exc))
        return None
    if not isinstance(data, dict):
        engine.errors.append('%s: top level is %s, not an object' % (path, type(data).__name__))
        return None
    return data


def _get(engine, path, data, keys, kind, default=None):
    """data[k1][k2]... checked for type; a wrong type is an error, not a guess."""
    cur = data
    for key in keys:
        if not isinstance(cur, dict) or key not in cur:
            return default
        cur = cur[key]
    if not isinstance(cur, kind):
        engine.errors.append('%s: %s must be %s, found %s' % (
            path, '.'.join(keys), getattr(kind, '__name__', 'a table'), type(cur).__name__))
        return default
    return cur


def _resolve(fs, name_or_path, dirs=SERVICE_PATH):
    """Candidate list for a runtime given as an absolute path or a bare name on PATH."""
    if not name_or_path:
        return []
    if name_or_path.startswith('/'):
        return [name_or_path]
    found = fs.which(name_or_path, dirs)
    return [found] if found else []


def _any_binary(fs, name):
    return fs.which(name) is not None


# --- Docker -----------------------------------------------------------------------------------
def read_docker(fs, config='/etc/docker/daemon.json'):
    eng = Engine('docker')
    eng.present = fs.exists(config) or _any_binary(fs, 'dockerd')
    data = _load(fs, eng, config, 'json') if fs.exists(config) else None
    data = data or {}
    table = _get(eng, config, data, ['runtimes'], dict, {})
    for name, spec in sorted(table.items()):
        if not isinstance(spec, dict):
            eng.errors.append('%s: runtimes.%s must be an object' % (config, name))
            continue
        binary = spec.get('path')
        if binary is None and isinstance(spec.get('options'), dict):  # runtimeType + options form
            binary = spec['options'].get('BinaryName')
        if binary is not None and not isinstance(binary, str):
            eng.errors.append('%s: runtimes.%s path must be a string' % (config, name))
            binary = None
        eng.runtimes[name] = binary
        if binary:
            eng.use('daemon.json runtimes.%s' % name, _resolve(fs, binary), binary)
    default = _get(eng, config, data, ['default-runtime'], str, None)
    eng.default_runtime = default or 'runc'
    if eng.present and (eng.default_runtime not in eng.runtimes or not eng.runtimes[eng.default_runtime]):
        # dockerd's built-in "runc" runtime (and io.containerd.runc.v2) runs `runc` from PATH
        eng.use('default runtime (runc on PATH)', _resolve(fs, 'runc'))
    profile = _get(eng, config, data, ['seccomp-profile'], str, None)
    eng.seccomp_profile = profile
    if profile and profile not in ('builtin', 'unconfined'):
        eng.profiles.append((profile, 'daemon.json seccomp-profile'))
    eng.extra['data_root'] = _get(eng, config, data, ['data-root'], str, None) or '/var/lib/docker'
    return eng


# --- containerd (also k3s / rke2 embedded containerd) -----------------------------------------
def _merge(dst, src):
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge(dst[key], value)
        else:
            dst[key] = value


def containerd_import(dst, src, version):
    """Merge imported config ``src`` into ``dst`` as containerd does for a main config of ``version``.

    Version 3 (containerd 2.x) deep-merges. Versions 1 and 2 (containerd 1.x) replace each plugin
    section the import holds as a whole (containerd#5837) and merge the other keys.
    """
    if version is not None and not isinstance(version, bool) and isinstance(version, int) and version >= 3:
        _merge(dst, src)
        return dst
    for key, value in src.items():
        if key in ('imports', 'version'):
            continue
        if key == 'plugins' and isinstance(value, dict) and isinstance(dst.get('plugins'), dict):
            dst['plugins'].update(value)
        elif isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge(dst[key], value)
        else:
            dst[key] = value
    return dst


def read_containerd(fs, name='containerd', config='/etc/containerd/config.toml', path_dirs=SERVICE_PATH,
                    present=None):
    eng = Engine(name)
    eng.present = fs.exists(config) or (_any_binary(fs, 'containerd') if present is None else present)
    data = {}
    if fs.exists(config):
        data = _load(fs, eng, config, 'toml') or {}
        imports = _get(eng, config, data, ['imports'], list, [])
        main_version = data.get('version', 1)
        for pattern in imports:
            if not isinstance(pattern, str):
                eng.errors.append('%s: imports entries must be strings' % config)
                continue
            for path in fs.glob(pattern) if pattern.startswith('/') else []:
                containerd_import(data, _load(fs, eng, path, 'toml') or {}, main_version)
    version = data.get('version', 1)
    eng.extra['config_version'] = version
    if version not in _CRI_PLUGIN:
        eng.errors.append('%s: unsupported config version %r' % (config, version))
        version = None
    cri = {}
    for key in _CRI_PLUGIN.get(version, ()):
        cri = _get(eng, config, data, ['plugins', key, 'containerd'], dict, None)
        if cri is not None:
            break
    cri = cri or {}
    default = cri.get('default_runtime_name', 'runc')
    if not isinstance(default, str):
        eng.errors.append('%s: default_runtime_name must be a string' % config)
        default = 'runc'
    eng.default_runtime = default
    table = cri.get('runtimes', {})
    if not isinstance(table, dict):
        eng.errors.append('%s: containerd.runtimes must be a table' % config)
        table = {}
    for rname, spec in sorted(table.items()):
        if not isinstance(spec, dict):
            eng.errors.append('%s: runtimes.%s must be a table' % (config, rname))
            continue
        opts = spec.get('options') if isinstance(spec.get('options'), dict) else {}
        binary = opts.get('BinaryName') or None
        if binary is not None and not isinstance(binary, str):
            eng.errors.append('%s: runtimes.%s.options.BinaryName must be a string' % (config, rname))
            binary = None
        rtype = spec.get('runtime_type', 'io.containerd.runc.v2')
        if not binary and rtype in _RUNC_SHIMS:
            binary = 'runc'  # the runc shim runs `runc` from its PATH
        eng.runtimes[rname] = binary
        if binary:
            eng.use('config.toml runtimes.%s' % rname, _resolve(fs, binary, path_dirs),
                    binary if binary != 'runc' else None)
    if eng.present and default not in eng.runtimes:
        eng.use('default runtime (runc on PATH)', _resolve(fs, 'runc', path_dirs))
    return eng


# --- CRI-O ------------------------------------------------------------------------------------
def read_crio(fs, config='/etc/crio/crio.conf', dropin='/etc/crio/crio.conf.d'):
    eng = Engine('cri-o')
    files = [config] if fs.exists(config) else []
    try:
        files += [fs.host(e.path) for e in list_dir(fs.real(dropin)) if not e.name.startswith('.')]
    except FileProblem as exc:
        eng.errors.append('%s: %s' % (dropin, exc.message))
    eng.present = bool(files) or _any_binary(fs, 'crio')
    default = None
    for path in files:  # later files override earlier keys
        data = _load(fs, eng, path, 'toml')
        if data is None:
            continue
        default = _get(eng, path, data, ['crio', 'runtime', 'default_runtime'], str, default)
        profile = _get(eng, path, data, ['crio', 'runtime', 'seccomp_profile'], str, None)
        if profile is not None:
            eng.seccomp_profile = profile
        table = _get(eng, path, data, ['crio', 'runtime', 'runtimes'], dict, {})
        for rname, spec in table.items():
            if not isinstance(spec, dict):
                eng.errors.append('%s: crio.runtime.runtimes.%s must be a table' % (path, rname))
                continue
            rpath = spec.get('runtime_path', eng.runtimes.get(rname))
            if rpath is not None and not isinstance(rpath, str):
                eng.errors.append('%s: runtimes.%s.runtime_path must be a string' % (path, rname))
                rpath = None
            eng.runtimes[rname] = rpath or None
    eng.default_runtime = default
    for rname, rpath in sorted(eng.runtimes.items()):
        # an empty runtime_path means "the handler name, looked up on PATH"
        eng.use('crio runtimes.%s' % rname, _resolve(fs, rpath or rname), rpath or None)
    if eng.present and (default is None or default not in eng.runtimes):
        # CRI-O's compiled-in default changed (runc before 1.31, crun after): both count.
        names = [default] if default else ['crun', 'runc']
        for n in names:
            eng.use('default runtime (%s on PATH)' % n, _resolve(fs, n))
    if eng.seccomp_profile:
        eng.profiles.append((eng.seccomp_profile, 'crio.conf seccomp_profile'))
    return eng


# --- podman -----------------------------------------------------------------------------------
def read_podman(fs):
    eng = Engine('podman')
    files = [p for p in ('/usr/share/containers/containers.conf', '/etc/containers/containers.conf')
             if fs.exists(p)]
    for d in ('/usr/share/containers/containers.conf.d', '/etc/containers/containers.conf.d'):
        try:
            files += [fs.host(e.path) for e in list_dir(fs.real(d)) if e.name.endswith('.conf')]
        except FileProblem as exc:
            eng.errors.append('%s: %s' % (d, exc.message))
    eng.present = _any_binary(fs, 'podman') or any(f.startswith('/etc/') for f in files)
    runtime = None
    table = {}
    profile = None
    for path in files:
        data = _load(fs, eng, path, 'toml')
        if data is None:
            continue
        runtime = _get(eng, path, data, ['engine', 'runtime'], str, runtime)
        profile = _get(eng, path, data, ['containers', 'seccomp_profile'], str, profile)
        for rname, paths in _get(eng, path, data, ['engine', 'runtimes'], dict, {}).items():
            if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
                eng.errors.append('%s: engine.runtimes.%s must be a list of paths' % (path, rname))
                continue
            table[rname] = paths
    eng.default_runtime = runtime or 'crun'  # podman >= 4 default
    eng.runtimes = dict(table)
    if eng.present:
        rt = eng.default_runtime
        if rt.startswith('/'):
            cands = [rt]
        else:
            cands = table.get(rt) or _PODMAN_DEFAULT_PATHS.get(rt) or list(os.path.join(d, rt) for d in SERVICE_PATH)
        eng.use('containers.conf engine.runtime (%s)' % rt, [c for c in cands if fs.exists(c)][:1],
                rt if runtime else None)
    eng.seccomp_profile = profile
    if eng.present:
        if profile:
            eng.profiles.append((profile, 'containers.conf seccomp_profile'))
        elif profile is None:
            eng.profiles.append(('/usr/share/containers/seccomp.json', 'default seccomp_profile'))
    return eng


def read_all(fs):
    """All engines, in a stable order. k3s / rke2 run their own containerd with their own runc."""
    engines = [read_docker(fs), read_containerd(fs), read_crio(fs), read_podman(fs)]
    k3s_bins = fs.glob('/var/lib/rancher/k3s/data/current/bin') + fs.glob('/var/lib/rancher/k3s/data/*/bin')
    if fs.exists('/var/lib/rancher/k3s'):
        engines.append(read_containerd(
            fs, 'k3s', '/var/lib/rancher/k3s/agent/etc/containerd/config.toml',
            tuple(k3s_bins[:1]) + SERVICE_PATH, present=True))
    if fs.exists('/var/lib/rancher/rke2'):
        engines.append(read_containerd(
            fs, 'rke2', '/var/lib/rancher/rke2/agent/etc/containerd/config.toml',
            ('/var/lib/rancher/rke2/bin',) + SERVICE_PATH, present=True))
    for name, top, bindir in (('microk8s', '/snap/microk8s/current', '/snap/microk8s/current/bin'),
                              ('k0s', '/var/lib/k0s', '/var/lib/k0s/bin')):
        if fs.exists(top):
            eng = Engine(name)
            eng.present = True
            eng.default_runtime = 'runc'
            eng.use('bundled runc', _resolve(fs, 'runc', (bindir,)))
            engines.append(eng)
    if fs.exists('/var/lib/kubelet'):
        eng = Engine('kubelet')
        eng.present = True
        eng.extra['seccomp_root'] = '/var/lib/kubelet/seccomp'
        engines.append(eng)
    return engines
