# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Host scan behind runcguard.seccomp.runtime_facts: runtimes, seccomp profiles, engines.

Pure stdlib, Python 3.9+. `gather(...)` never raises for host trouble: every bad file, binary or
config becomes an `error` entry naming the path, and the rest is returned. Commands run through
`_command.run` (argv lists, LANG=C, the whole process group killed after `command_timeout`).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import functools
import glob
import hashlib
import json
import math
import os
import re
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils import _command
from ansible_collections.runcguard.seccomp.plugins.module_utils._engines import (
    RUNTIME_DIRS, RUNTIME_GLOBS, RUNTIME_NAMES, read_all,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import (
    FileProblem, Fs, describe_os_error, is_scratch, is_socket, printable, read_bounded, read_text, utf8_safe,
    walk_files,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import ProfileError, describe_profile
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import (
    parse_features_json, parse_runtime_version,
)

SCHEMA = 1
# Defaults of gather()'s options (runtime_facts uses them for its argument spec).
COMMAND_TIMEOUT = 10
MAX_PROFILE_SIZE = 1024 * 1024
STANDARD_PROFILES = ('/usr/share/containers/seccomp.json', '/etc/containers/seccomp.json')
KUBELET_SECCOMP = '/var/lib/kubelet/seccomp'
# (glob of a running bundle's config.json, engine, index of namespace in path parts or None)
BUNDLE_GLOBS = (
    ('/run/containerd/io.containerd.runtime.v2.task/*/*/config.json', 'containerd'),
    ('/run/containerd/io.containerd.runtime.v1.linux/*/*/config.json', 'containerd'),
    ('/run/docker/containerd/daemon/io.containerd.runtime.v2.task/*/*/config.json', 'docker'),
    ('/run/k3s/containerd/io.containerd.runtime.v2.task/*/*/config.json', 'k3s'),
    ('/var/lib/containers/storage/overlay-containers/*/userdata/config.json', 'podman'),
    ('/run/containers/storage/overlay-containers/*/userdata/config.json', 'cri-o'),
)
LIB_DIRS = ('/lib', '/lib64', '/usr/lib', '/usr/lib64', '/usr/local/lib', '/lib/*-linux-gnu*',
            '/usr/lib/*-linux-gnu*')
_LIBSECCOMP = re.compile(r'libseccomp\.so\.(\d+\.\d+\.\d+)$')
_EXPANDING = ('docker', 'podman', 'cri-o')
# Who may read a profile given by path (profile_paths item {path, reader}): Docker, podman and CRI-O
# expand Docker keys, containerd and plain OCI readers do not, kubelet does as its CRI runtime does.
PROFILE_READERS = ('docker', 'podman', 'cri-o', 'containerd', 'kubelet', 'oci')


def _error(errors, path, message):
    errors.append({'path': path, 'error': message})
    return message


# --- runtimes -----------------------------------------------------------------------------------
def _runtime_candidates(fs, engines, runtime_paths, discover):
    """Ordered {host path: {'reason': text, 'must_exist': bool, 'used_by': set}}."""
    cands = {}

    def add(path, reason, must_exist=False, engine=None):
        entry = cands.setdefault(path, {'reason': reason, 'must_exist': False, 'used_by': set()})
        entry['must_exist'] = entry['must_exist'] or must_exist
        if engine:
            entry['used_by'].add(engine)

    if discover:
        for d in RUNTIME_DIRS:
            for name in RUNTIME_NAMES:
                add(os.path.join(d, name), 'standard location')
        for pattern, engine in RUNTIME_GLOBS:
            for name in RUNTIME_NAMES:
                for path in fs.glob(pattern % name):
                    add(path, '%s bundled runtime' % engine, engine=engine)
        for eng in engines:
            for engine, setting, paths, named in eng.uses:
                if paths:
                    add(paths[0], '%s %s' % (engine, setting), must_exist=True, engine=engine)
                elif named:  # the config names a binary that is not there: worth an error entry
                    add(named, '%s %s, not found on PATH' % (engine, setting), must_exist=True, engine=engine)
    for pattern in runtime_paths:
        matches = fs.glob(pattern) if glob.has_magic(pattern) else [pattern]
        if not matches:
            add(pattern, 'runtime_paths (no match)', must_exist=True)
        for path in matches:
            add(path, 'runtime_paths', must_exist=True)
    return cands


def _probe_runtime(fs, run, entry):
    """Fill version fields of one runtime entry by running `<binary> --version`."""
    real = fs.real(entry['realpath'])
    if not os.access(real, os.X_OK):
        entry['error'] = 'not executable'
        return
    rc, out, err, problem = run([real, '--version'])
    text = out.decode('utf-8', 'replace')
    if problem:
        entry['raw'] = text[:2048] or None
        entry['error'] = problem
        return
    parsed = parse_runtime_version(text)
    if rc != 0 and not parsed.get('version'):
        parsed['error'] = 'exited with rc=%d: %s' % (rc, err.decode('utf-8', 'replace').strip()[:200])
    for key in ('version', 'version_source', 'dev', 'commit', 'spec', 'go', 'libseccomp', 'raw', 'error'):
        entry[key] = parsed.get(key)
    if parsed.get('name'):  # a binary called runc that says it is crun (or the reverse) is what it says
        entry['name'] = parsed['name']
    if entry['name'] == 'runc' and not entry['version'] and not (parsed.get('error') or '').startswith('unparsable'):
        _features(run, real, entry)


def _features(run, real, entry):
    """`runc features` (runc >= 1.1) as a second version source when --version gave none."""
    rc, out, _err, problem = run([real, 'features'])
    if problem or rc != 0:
        return
    try:
        found = parse_features_json(json.loads(out.decode('utf-8', 'replace')))
    except ValueError:
        return
    if found.get('version'):
        entry.update(found)
        entry['version_source'] = 'features'
        entry['error'] = None


def _packages(fs, run, runtimes):
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


def _gather_runtimes(fs, run, engines, runtime_paths, discover, errors):
    cands = _runtime_candidates(fs, engines, runtime_paths, discover)
    by_real = {}
    order = []
    for path, info in cands.items():
        real = fs.real(path)
        if not path.startswith('/') or not os.path.lexists(real):  # bare names never resolve against cwd
            if info['must_exist']:
                order.append(_runtime_error(path, 'does not exist (named by %s)' % info['reason'],
                                            info['used_by'], errors))
            continue
        try:
            st = os.stat(real)
        except OSError as exc:
            order.append(_runtime_error(path, describe_os_error(exc), info['used_by'], errors))
            continue
        if not os.path.isfile(real):
            order.append(_runtime_error(path, 'not a regular file', info['used_by'], errors))
            continue
        key = (st.st_dev, st.st_ino)  # symlinks and hard links fold into one binary
        entry = by_real.get(key)
        if entry is None:
            resolved = fs.host(os.path.realpath(real))
            base = os.path.basename(resolved)
            name = base if base in RUNTIME_NAMES else os.path.basename(path)
            entry = by_real[key] = {
                'name': name, 'path': path, 'paths': [], 'realpath': resolved,
                'version': None, 'version_source': None, 'dev': False, 'commit': None, 'spec': None,
                'go': None, 'libseccomp': None, 'raw': None, 'package': None, 'used_by': set(),
                'error': None,
            }
            order.append(entry)
        entry['paths'].append(path)
        entry['used_by'].update(info['used_by'])
    for entry in order:
        if entry.get('realpath') and entry['error'] is None:
            _probe_runtime(fs, run, entry)
            if entry['error']:
                _error(errors, entry['path'], entry['error'])
    _packages(fs, run, [e for e in order if e.get('realpath')])
    for entry in order:
        for path in [entry['realpath']] + entry['paths']:
            for prefix, engine in (('/var/lib/rancher/k3s/', 'k3s'), ('/var/lib/rancher/rke2/', 'rke2'),
                                   ('/snap/microk8s/', 'microk8s'), ('/var/lib/k0s/', 'k0s')):
                if path and path.startswith(prefix):
                    entry['used_by'].add(engine)
        entry['used_by'] = sorted(entry['used_by'])
        entry['paths'] = sorted(set(entry['paths']))
    return order


def _runtime_error(path, message, used_by, errors):
    _error(errors, path, message)
    name = os.path.basename(path)
    return {'name': name if name in RUNTIME_NAMES else None, 'path': path, 'paths': [path], 'realpath': None,
            'version': None, 'version_source': None, 'dev': False, 'commit': None, 'spec': None, 'go': None,
            'libseccomp': None, 'raw': None, 'package': None, 'used_by': set(used_by), 'error': message}


# --- profiles -----------------------------------------------------------------------------------
class _Profiles(object):

    def __init__(self, fs, max_size, arch, kernel, errors, crio_present):
        self.fs = fs
        self.max_size = max_size
        self.arch, self.kernel = arch, kernel
        self.errors = errors
        self.crio_present = crio_present
        self.entries = {}  # key -> entry (key: realpath, or path#inline for Docker hostconfig)
        self.order = []
        self.files_seen = 0

    def _entry(self, key, path, real, origin, bundle):
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = {
                'path': path, 'realpath': real, 'sha256': None, 'size': None, 'format': None,
                'origin': [], 'default_action': None, 'listener_path': None, 'listener_exists': None,
                'architectures': [], 'notify': [], 'notify_syscalls': [], 'bundle': bundle, 'error': None,
                'duplicate_keys': [], 'warning': None, '_data': None,
            }
            self.order.append(entry)
        if origin not in entry['origin']:
            entry['origin'].append(origin)
        return entry

    def add_file(self, path, engine, setting, must_exist=False, bundle=None, reader=None):
        origin = {'engine': engine, 'setting': setting}
        if reader:
            origin['reader'] = reader
        if printable(path) != path:
            # no engine setting, pod spec or JSON config can name it, and it cannot be reported as is
            shown = printable(path)
            self._entry(shown, shown, None, origin, bundle)['error'] = _error(
                self.errors, shown, 'file name is not valid UTF-8 (shown escaped): no engine can name this '
                'file; rename it')
            return
        real = self.fs.real(path)
        if not os.path.lexists(real):
            if must_exist:
                self._entry(path, path, None, origin, bundle)['error'] = \
                    _error(self.errors, path, 'does not exist (named by %s %s)' % (engine, setting))
            return
        self.files_seen += 1
        try:
            resolved = self.fs.host(os.path.realpath(real))
        except (OSError, ValueError):
            resolved = path
        known = resolved in self.entries
        entry = self._entry(resolved, path, resolved, origin, bundle)
        if known:
            return
        try:
            entry['_data'] = read_bounded(real, self.max_size)
        except FileProblem as exc:
            entry['error'] = _error(self.errors, path, exc.message)

    def add_inline(self, path, key, data, engine, setting, bundle):
        entry = self._entry(key, path, self.fs.host(os.path.realpath(self.fs.real(path))),
                            {'engine': engine, 'setting': setting}, bundle)
        entry['_data'] = data

    def finish(self):
        out = []
        for entry in self.order:
            data = entry.pop('_data')
            if data is not None:
                if not self._describe(entry, data):
                    continue  # a bundle that runs without seccomp is not a profile
                if entry['error'] is None:  # never a digest of a file that is not a profile (/etc/shadow)
                    entry['size'] = len(data)
                    entry['sha256'] = hashlib.sha256(data).hexdigest()
            out.append(entry)
        return out

    def _consumer(self, entry):
        kinds = set()
        for origin in entry['origin']:
            engine = origin.get('reader') or origin['engine']
            if engine in _EXPANDING:
                kinds.add(engine)
            elif engine == 'kubelet':
                kinds.add(None if self.crio_present else 'kubelet')
            elif engine in ('bundle', 'containerd', 'k3s', 'rke2', 'oci'):
                kinds.add(engine)
            else:
                kinds.add(None)
        return kinds.pop() if len(kinds) == 1 else None

    def _describe(self, entry, data):
        try:
            info = describe_profile(data, arch=self.arch, kernel=self.kernel, consumer=self._consumer(entry))
        except ProfileError as exc:
            entry['error'] = _error(self.errors, entry['path'], str(exc))
            return True
        except Exception as exc:  # a parser bug must not cost the host its facts
            entry['error'] = _error(self.errors, entry['path'], 'profile could not be analysed: %s: %s'
                                    % (type(exc).__name__, exc))
            return True
        if info is None:
            return False
        entry.update(info)
        if entry['duplicate_keys']:
            entry['warning'] = ('duplicate JSON keys (%s): read as the runtimes read them, the last of each wins '
                                '(objects merge)' % ', '.join(entry['duplicate_keys'][:10]))
        listener = entry.get('listener_path')
        entry['listener_exists'] = is_socket(self.fs.real(listener)) if listener else None
        return True


def _docker_hostconfigs(fs, profiles, data_root, errors):
    """Per-container profiles Docker stores inline: hostconfig.json SecurityOpt "seccomp=<json>"."""
    for path in fs.glob(os.path.join(data_root, 'containers', '*', 'hostconfig.json')):
        profiles.files_seen += 1
        try:
            doc = json.loads(read_text(fs.real(path), profiles.max_size))
        except FileProblem as exc:
            _error(errors, path, exc.message)
            continue
        except ValueError as exc:
            _error(errors, path, 'invalid JSON: %s' % exc)
            continue
        opts = doc.get('SecurityOpt') if isinstance(doc, dict) else None
        for opt in opts if isinstance(opts, list) else ():
            if not isinstance(opt, str) or not re.match(r'seccomp[=:]', opt):
                continue
            value = opt[len('seccomp='):]
            if value.strip() in ('unconfined', 'builtin', ''):
                continue
            cid = os.path.basename(os.path.dirname(path))
            profiles.add_inline(path, path + '#SecurityOpt', value.encode('utf-8', 'surrogatepass'),
                                'docker', 'hostconfig.json SecurityOpt seccomp',
                                {'id': cid, 'namespace': None, 'engine': 'docker'})


def _bundles(fs, profiles, engine_names):
    for pattern, engine in BUNDLE_GLOBS:
        if engine == 'k3s' and 'rke2' in engine_names and 'k3s' not in engine_names:
            engine = 'rke2'  # RKE2 shares k3s' /run/k3s/containerd state directory
        for path in fs.glob(pattern):
            parts = path.split('/')
            if 'overlay-containers' in parts:
                bundle = {'id': parts[-3], 'namespace': None, 'engine': engine}
            else:
                ns = parts[-3]
                eng = 'docker' if ns == 'moby' else engine
                bundle = {'id': parts[-2], 'namespace': ns, 'engine': eng}
            profiles.add_file(path, 'bundle', '%s bundle config.json' % bundle['engine'], bundle=bundle)


def profile_path_items(items):
    """[(path, reader or None)] from ``profile_paths``: each item a path string (reader unknown) or a
    dict ``{path, reader}``. ``~`` and ``$VARS`` are expanded as for a ``path`` option.

    Raises ValueError naming the bad item.
    """
    out = []
    for index, item in enumerate(items or ()):
        reader = None
        if isinstance(item, dict):
            unknown = sorted(set(item) - {'path', 'reader'})
            if unknown:
                raise ValueError('profile_paths[%d]: unknown key(s) %s; an item is a path or {path, reader}'
                                 % (index, ', '.join(unknown)))
            reader = item.get('reader')
            if reader is not None and reader not in PROFILE_READERS:
                raise ValueError('profile_paths[%d]: reader must be one of %s, got %r'
                                 % (index, ', '.join(PROFILE_READERS), reader))
            item = item.get('path')
        if not isinstance(item, str) or not item.strip():
            raise ValueError('profile_paths[%d]: path must be a non-empty string' % index)
        out.append((os.path.expanduser(os.path.expandvars(item)), reader))
    return out


def _user_profiles(fs, profiles, items, errors):
    for pattern, reader in profile_path_items(items):
        matches = fs.glob(pattern) if glob.has_magic(pattern) else [pattern]
        if not matches:
            _error(errors, pattern, 'profile_paths entry matched nothing')
        for path in matches:
            if os.path.isdir(fs.real(path)):
                _walk(fs, profiles, path, 'user', 'profile_paths (directory %s)' % path, errors, reader=reader)
            else:
                profiles.add_file(path, 'user', 'profile_paths', must_exist=True, reader=reader)


def _walk(fs, profiles, top, engine, setting, errors, sub_settings=None, reader=None):
    for real, problem in walk_files(fs.real(top)):
        path = fs.host(real)
        if problem:
            _error(errors, path, problem)
            continue
        if path.endswith('~') or is_scratch(os.path.basename(path)):
            continue  # backups, temporary and lock files (seccomp_profile's, editors'): no engine reads them
        use = setting
        for prefix, name in (sub_settings or {}).items():
            if path.startswith(prefix):
                use = name
        profiles.add_file(path, engine, use, reader=reader)


# --- host ---------------------------------------------------------------------------------------
def host_libseccomp(fs):
    """Newest libseccomp.so.X.Y.Z file name under the usual library directories, or None."""
    best = None
    for d in LIB_DIRS:
        for real in glob.glob(os.path.join(fs.real(d), 'libseccomp.so.*')):
            m = _LIBSECCOMP.search(real)
            if m:
                ver = tuple(int(x) for x in m.group(1).split('.'))
                best = max(best or ver, ver)
    return '.'.join(str(x) for x in best) if best else None


def _bounded_runner(command_timeout, scan_timeout):
    """_command.run bounded per command and, with ``scan_timeout``, by the whole scan: past it no command
    starts (the caller, e.g. audit_host, has given up by then; nothing may keep running on the host)."""
    per_command = max(1, int(command_timeout))
    if not scan_timeout:
        return functools.partial(_command.run, timeout=per_command)
    deadline = time.monotonic() + int(scan_timeout)

    def run(argv):
        left = deadline - time.monotonic()
        if left <= 0:
            return None, b'', b'', 'not run: the scan reached its time limit (scan_timeout=%ds)' % int(scan_timeout)
        return _command.run(argv, timeout=min(per_command, max(1, int(math.ceil(left)))))
    return run


def gather(*, profile_paths=(), runtime_paths=(), discover=True, command_timeout=COMMAND_TIMEOUT,
           max_profile_size=MAX_PROFILE_SIZE, scan_timeout=0, _root='/'):
    """Scan the host: the facts dict of runtime_facts (its options, same names and defaults).

    `_root` (private, tests only) reads a tree instead of '/'; commands still run for real.
    """
    started = time.time()
    fs = Fs(_root)
    errors = []
    uname = os.uname()
    arch, kernel = uname.machine, uname.release
    run = _bounded_runner(command_timeout, scan_timeout)

    engines = []
    if discover:
        try:
            engines = read_all(fs)
        except Exception as exc:  # never lose the host's facts to one reader's bug
            _error(errors, '/', 'engine configuration could not be read: %s: %s' % (type(exc).__name__, exc))
    engine_facts = {}
    for eng in engines:
        if eng.present or eng.config or eng.errors:
            engine_facts[eng.name] = eng.facts()
        for message in eng.errors:
            path = message.split(': ', 1)[0]
            _error(errors, path, message.split(': ', 1)[-1])
    names = set(engine_facts)

    runtimes = _gather_runtimes(fs, run, engines, runtime_paths or (), discover, errors)

    profiles = _Profiles(fs, max(1, int(max_profile_size)), arch, kernel, errors, 'cri-o' in names)
    if discover:
        for eng in engines:
            for path, setting in eng.profiles:
                profiles.add_file(path, eng.name, setting, must_exist=True)
        for path in STANDARD_PROFILES:
            profiles.add_file(path, 'containers-common', 'default profile file')
        _walk(fs, profiles, KUBELET_SECCOMP, 'kubelet', 'localhost profile root %s' % KUBELET_SECCOMP, errors,
              {KUBELET_SECCOMP + '/operator/': 'security-profiles-operator (%s/operator)' % KUBELET_SECCOMP})
        _bundles(fs, profiles, names)
        docker = engine_facts.get('docker')
        if docker:
            _docker_hostconfigs(fs, profiles, docker.get('data_root') or '/var/lib/docker', errors)
    _user_profiles(fs, profiles, profile_paths, errors)
    profile_list = profiles.finish()

    facts = {
        'schema': SCHEMA,
        'arch': arch,
        'kernel': kernel,
        'libseccomp': host_libseccomp(fs),
        'runtimes': runtimes,
        'profiles': profile_list,
        'engines': engine_facts,
        'scan': {
            'duration_ms': int((time.time() - started) * 1000),
            'files_seen': profiles.files_seen,
            'errors': errors,
        },
    }
    try:  # the usual case, in one C pass: nothing to escape
        json.dumps(facts, ensure_ascii=False).encode('utf-8')
        return facts
    except UnicodeEncodeError:  # a non-UTF-8 name or a lone surrogate somewhere: escape, never fail
        return utf8_safe(facts)
