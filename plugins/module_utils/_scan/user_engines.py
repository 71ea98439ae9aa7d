# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a rootless user's own engines would run: podman, docker and containerd configuration, user
units, user bin directories and runc state, each at a fixed list of paths (never a walk of a home).

Every file is read through ``user_files`` (within what the user owns). Results go into a
``users.UserScan``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import re
import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.engines import CONFIG_LIMIT, RUNTIME_DIRS, RUNTIME_NAMES, SERVICE_PATH
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.profiles import MAX_PER_GLOB, state_bundles
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.toml import TomlError, loads as toml_loads
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.user_files import lexists, read_owned

# Binaries looked for in a user's own bin directories.
USER_BIN_DIRS = ('.local/bin', 'bin')
# User units that set the PATH of an engine (and so which runc it runs).
UNITS = ('containerd.service', 'docker.service', 'bypass4netnsd.service', 'buildkit.service', 'podman.service')


def _unit_env(text):
    """Environment= assignments of a systemd unit (PATH, ...), later ones win."""
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith('Environment='):
            continue
        value = line[len('Environment='):]
        for item in re.findall(r'"[^"]*"|\S+', value):
            item = item.strip('"')
            key, sep, val = item.partition('=')
            if sep:
                env[key] = val
    return env


def _expand(value, user):
    """$HOME, %h, $XDG_RUNTIME_DIR, %t, $PATH in a unit value or config path (nothing else)."""
    home = user['home'] or ''
    value = value.replace('%h', home).replace('%t', user['runtime_dir'])
    value = re.sub(r'\$\{?HOME\}?', home, value)
    value = re.sub(r'\$\{?XDG_RUNTIME_DIR\}?', user['runtime_dir'], value)
    value = re.sub(r'\$\{?PATH\}?', ':'.join(SERVICE_PATH), value)
    if value.startswith('~/'):
        value = home + value[1:]
    return value


def _load_config(fs, scan, path, kind, engine):
    user = scan.user
    try:
        data = read_owned(fs, path, user, CONFIG_LIMIT)
    except FileProblem as exc:
        engine['error'] = _join(engine.get('error'), scan.error(path, exc.message))
        return None
    engine['config'].append(path)
    try:
        text = data.decode('utf-8')
        doc = json.loads(text) if kind == 'json' else toml_loads(text)
    except (ValueError, TomlError, UnicodeDecodeError) as exc:
        engine['error'] = _join(engine.get('error'), scan.error(path, 'invalid %s: %s' % (kind.upper(), exc)))
        return None
    if not isinstance(doc, dict):
        engine['error'] = _join(engine.get('error'), scan.error(path, 'top level is not an object'))
        return None
    return doc


def _join(old, new):
    return new if not old else '%s; %s' % (old, new)


def _new_engine():
    return {'config': [], 'default_runtime': None, 'runtimes': {}, 'seccomp_profile': None, 'error': None}


def _which(fs, name, dirs):
    for d in dirs:
        cand = os.path.join(d, name)
        try:
            st = os.stat(fs.real(cand))
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
            return cand
    return None


def user_bin_dirs(user):
    home = user['home'] or ''
    return tuple(os.path.join(home, d) for d in USER_BIN_DIRS) if home else ()


def _scan_units(fs, scan):
    user = scan.user
    base = os.path.join(user['home'], '.config/systemd/user')
    for unit in UNITS:
        path = os.path.join(base, unit)
        if not lexists(fs, path):
            continue
        try:
            text = read_owned(fs, path, user, CONFIG_LIMIT).decode('utf-8', 'replace')
        except FileProblem as exc:
            scan.error(path, exc.message)
            continue
        env = _unit_env(text)
        scan.units[unit] = {'path': path, 'env': env}


def _engine_path(scan, engine):
    """The PATH the user's engine runs with: its unit's Environment=PATH, else a running process's,
    else the defaults of the rootless install scripts."""
    user = scan.user
    unit = scan.units.get('%s.service' % engine)
    if unit and unit['env'].get('PATH'):
        return tuple(p for p in _expand(unit['env']['PATH'], user).split(':') if p.startswith('/')), \
            '%s PATH' % unit['path']
    if user.get('env', {}).get('PATH') and engine in user.get('processes', ()):
        return tuple(p for p in user['env']['PATH'].split(':') if p.startswith('/')), 'PATH of the running %s' % engine
    if engine == 'docker':  # dockerd-rootless-setuptool.sh: BIN=${DOCKER_BIN:-$HOME/bin}, first on PATH
        return (os.path.join(user['home'], 'bin'),) + SERVICE_PATH, 'rootless install default PATH'
    return SERVICE_PATH, 'default PATH'


# A user's engine configuration can name any number of runtimes: the first MAX_NAMED_RUNTIMES (by
# name, the engine's default always among them) are read and reported, one error entry says the rest.
MAX_NAMED_RUNTIMES = 32


def _bounded(scan, config, table, keep=None):
    names = sorted(table)
    if len(names) <= MAX_NAMED_RUNTIMES:
        return table
    kept = ([keep] if keep in table else []) + [n for n in names if n != keep]
    scan.error(config, 'names %d runtimes; the first %d (by name) are read, the rest are not'
               % (len(names), MAX_NAMED_RUNTIMES))
    return dict((n, table[n]) for n in kept[:MAX_NAMED_RUNTIMES])


def _add_runtime(scan, path, reason, engine=None):
    scan.runtimes.append((path, reason, set([engine]) if engine else set()))


def _scan_podman(fs, scan, system_podman):
    user = scan.user
    home = user['home']
    eng = _new_engine()
    conf_dir = os.path.join(home, '.config/containers')
    files = [os.path.join(conf_dir, 'containers.conf')]
    dropin = os.path.join(conf_dir, 'containers.conf.d')
    try:
        names = sorted(n for n in os.listdir(fs.real(dropin)) if n.endswith('.conf'))[:64]
        files += [os.path.join(dropin, n) for n in names]
    except OSError:
        pass
    env_conf = user.get('env', {}).get('CONTAINERS_CONF')
    if env_conf and env_conf.startswith('/'):
        files.append(env_conf)
    runtime = None
    table = {}
    profile = None
    for path in files:
        if not lexists(fs, path, user):
            continue
        doc = _load_config(fs, scan, path, 'toml', eng)
        if doc is None:
            continue
        engine_t = doc.get('engine') if isinstance(doc.get('engine'), dict) else {}
        if isinstance(engine_t.get('runtime'), str):
            runtime = engine_t['runtime']
        rts = engine_t.get('runtimes') if isinstance(engine_t.get('runtimes'), dict) else {}
        for rname, paths in rts.items():
            if isinstance(paths, list) and all(isinstance(p, str) for p in paths):
                table[rname] = paths
        cont = doc.get('containers') if isinstance(doc.get('containers'), dict) else {}
        if isinstance(cont.get('seccomp_profile'), str):
            profile = cont['seccomp_profile']
    present = bool(eng['config']) or 'podman' in user.get('processes', ()) or 'conmon' in user.get('processes', ())
    storage = _podman_storage(fs, scan)
    if storage['specs']:
        present = True
    if not present:
        return
    eng['default_runtime'] = runtime or (system_podman or {}).get('default_runtime') or 'crun'
    rt = eng['default_runtime']
    eng['runtimes'] = table = _bounded(scan, conf_dir, table, keep=rt)
    if rt.startswith('/') or rt.startswith('~'):
        cands = [_expand(rt, user)]
    else:
        cands = [_expand(p, user) for p in table.get(rt) or []] or \
            [os.path.join(d, rt) for d in RUNTIME_DIRS]  # podman's built-in table: the same directories
    found = next((c for c in cands if lexists(fs, c, user)), None)
    if found:
        _add_runtime(scan, found, 'podman containers.conf engine.runtime (%s)' % rt, 'podman')
    elif runtime:
        scan.error(rt, 'named by podman containers.conf engine.runtime, not found')
    eng['seccomp_profile'] = profile
    if profile:
        scan.profiles.append((_expand(profile, user), 'podman', 'containers.conf seccomp_profile', None, True))
    eng['storage'] = storage['graphroot']
    scan.engines['podman'] = eng
    for path in storage['specs']:
        cid = path.split('/')[-3]
        scan.profiles.append((path, 'bundle', 'podman bundle config.json',
                              {'id': cid, 'namespace': None, 'engine': 'podman'}, False))


# rootless podman uses overlay (native or fuse-overlayfs) or, without either, vfs
STORAGE_DRIVERS = ('overlay', 'vfs', 'btrfs', 'zfs')


def _podman_storage(fs, scan):
    user = scan.user
    home = user['home']
    graphroot = os.path.join(home, '.local/share/containers/storage')
    path = os.path.join(home, '.config/containers/storage.conf')
    sys_conf = '/etc/containers/storage.conf'
    transient = False
    for conf, owned in ((sys_conf, False), (path, True)):
        if not lexists(fs, conf):
            continue
        try:
            if owned:
                text = read_owned(fs, conf, user, CONFIG_LIMIT).decode('utf-8', 'replace')
            else:
                with open(fs.real(conf), 'rb') as handle:
                    text = handle.read(CONFIG_LIMIT).decode('utf-8', 'replace')
            doc = toml_loads(text)
        except (FileProblem, TomlError, ValueError, OSError) as exc:
            scan.error(conf, getattr(exc, 'message', None) or str(exc))
            continue
        st = doc.get('storage') if isinstance(doc.get('storage'), dict) else {}
        if owned and isinstance(st.get('graphroot'), str):
            graphroot = _expand(st['graphroot'], user)
        elif not owned and isinstance(st.get('rootless_storage_path'), str):
            graphroot = _expand(st['rootless_storage_path'].replace('$UID', str(user['uid'])).replace(
                '$USER', user['name']), user)
        if isinstance(st.get('transient_store'), bool):
            transient = st['transient_store']
    specs = []
    for driver in STORAGE_DRIVERS:  # containers/storage keeps a driver's containers in <driver>-containers
        where = '%s-containers/*/userdata/config.json' % driver
        specs += _glob_owned(fs, scan, os.path.join(graphroot, where))
        specs += _glob_owned(fs, scan, os.path.join(user['runtime_dir'], 'containers', where))
    return {'graphroot': graphroot, 'specs': specs, 'transient': transient}


def _glob_owned(fs, scan, pattern):
    """A fixed-depth glob (one '*' level) of a user's directory, bounded in count."""
    hits = sorted(fs.host(p) for p in glob.glob(fs.real(pattern)))
    if len(hits) > MAX_PER_GLOB:
        scan.error(pattern, '%d matches; only the first %d are read' % (len(hits), MAX_PER_GLOB))
        hits = hits[:MAX_PER_GLOB]
    return hits


def _engine_files(fs, scan, config, kind, bundle_glob, process, unit):
    """(engine entry, config doc or None, bundle config.json paths) of a rootless docker or containerd,
    or None when the user shows no sign of it (no config, process, user unit or bundle)."""
    eng = _new_engine()
    doc = _load_config(fs, scan, config, kind, eng) if lexists(fs, config) else None
    bundles = _glob_owned(fs, scan, bundle_glob)
    present = bool(eng['config']) or process in scan.user.get('processes', ()) or unit in scan.units \
        or bool(bundles)
    return (eng, doc, bundles) if present else None


def _bundle_profiles(scan, bundles, setting, engine):
    """Each bundle's config.json (.../task/<namespace>/<id>/config.json) as a profile source."""
    for path in bundles:
        parts = path.split('/')
        scan.profiles.append((path, 'bundle', setting,
                              {'id': parts[-2], 'namespace': parts[-3], 'engine': engine}, False))


def _scan_docker(fs, scan):
    user = scan.user
    config = os.path.join(user['home'], '.config/docker/daemon.json')
    present = _engine_files(fs, scan, config, 'json', os.path.join(
        user['runtime_dir'], 'docker/containerd/daemon/io.containerd.runtime.v2.task/*/*/config.json'),
        'dockerd', 'docker.service')
    if not present:
        return
    eng, doc, bundles = present
    doc = doc or {}
    dirs, why = _engine_path(scan, 'docker')
    default = doc.get('default-runtime') if isinstance(doc.get('default-runtime'), str) else 'runc'
    table = _bounded(scan, config, doc.get('runtimes') if isinstance(doc.get('runtimes'), dict) else {}, keep=default)
    for name, spec in sorted(table.items()):
        binary = spec.get('path') if isinstance(spec, dict) else None
        if isinstance(binary, str) and binary:
            eng['runtimes'][name] = binary
            found = _expand(binary, user) if binary.startswith(('/', '~')) else _which(fs, binary, dirs)
            if found:
                _add_runtime(scan, found, 'docker daemon.json runtimes.%s' % name, 'docker')
            else:
                scan.error(binary, 'named by %s runtimes.%s, not found' % (config, name))
    eng['default_runtime'] = default
    if default not in eng['runtimes']:
        found = _which(fs, 'runc', dirs)
        if found:
            _add_runtime(scan, found, 'rootless dockerd default runtime (runc on %s)' % why, 'docker')
    profile = doc.get('seccomp-profile') if isinstance(doc.get('seccomp-profile'), str) else None
    eng['seccomp_profile'] = profile
    if profile and profile not in ('builtin', 'unconfined'):
        scan.profiles.append((_expand(profile, user), 'docker', 'daemon.json seccomp-profile', None, True))
    scan.engines['docker'] = eng
    _bundle_profiles(scan, bundles, 'rootless docker bundle config.json', 'docker')


def _scan_containerd(fs, scan):
    user = scan.user
    config = os.path.join(user['home'], '.config/containerd/config.toml')
    present = _engine_files(fs, scan, config, 'toml', os.path.join(
        user['runtime_dir'], 'containerd/io.containerd.runtime.v2.task/*/*/config.json'),
        'containerd', 'containerd.service')
    if not present:
        return
    eng, doc, bundles = present
    dirs, why = _engine_path(scan, 'containerd')
    runtimes = {}
    if doc:
        plugins = doc.get('plugins') if isinstance(doc.get('plugins'), dict) else {}
        for key in ('io.containerd.grpc.v1.cri', 'cri', 'io.containerd.cri.v1.runtime'):
            cri = plugins.get(key)
            cri = cri.get('containerd') if isinstance(cri, dict) else None
            if isinstance(cri, dict) and isinstance(cri.get('runtimes'), dict):
                for rname, spec in cri['runtimes'].items():
                    opts = spec.get('options') if isinstance(spec, dict) else None
                    binary = opts.get('BinaryName') if isinstance(opts, dict) else None
                    if isinstance(binary, str) and binary:
                        runtimes[rname] = binary
                break
    eng['runtimes'] = runtimes = _bounded(scan, config, runtimes, keep='runc')
    eng['default_runtime'] = 'runc'
    eng['path'] = list(dirs)
    for rname, binary in sorted(runtimes.items()):
        found = _expand(binary, user) if binary.startswith(('/', '~')) else _which(fs, binary, dirs)
        if found:
            _add_runtime(scan, found, 'containerd config.toml runtimes.%s' % rname, 'containerd')
    found = _which(fs, 'runc', dirs)  # the runc shim runs `runc` from containerd's PATH
    if found:
        _add_runtime(scan, found, 'rootless containerd runc (%s)' % why, 'containerd')
    scan.engines['containerd'] = eng
    _bundle_profiles(scan, bundles, 'rootless containerd bundle config.json', 'containerd')


def scan_state(fs, scan):
    root = os.path.join(scan.user['runtime_dir'], 'runc')
    for config, cid, pid in state_bundles(fs, scan, root):
        scan.profiles.append((config, 'bundle', 'runc state %s/%s (running or hung container)' % (root, cid),
                              {'id': cid, 'namespace': None, 'engine': 'runc'}, False))


def _scan_bins(fs, scan):
    """runc/crun in the user's bin dirs (inventory, and what runc state dirs were made by)."""
    for d in user_bin_dirs(scan.user):
        for name in RUNTIME_NAMES:
            path = os.path.join(d, name)
            if lexists(fs, path):
                _add_runtime(scan, path, 'user bin directory', None)


def scan_engines(fs, scan, system_podman):
    """Fill ``scan`` with what the user's units, bin directories, podman, docker and containerd run."""
    _scan_units(fs, scan)
    _scan_bins(fs, scan)
    _scan_podman(fs, scan, system_podman)
    _scan_docker(fs, scan)
    _scan_containerd(fs, scan)
