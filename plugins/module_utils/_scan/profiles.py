# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Seccomp profiles for the runtime_facts scan: engine settings, the standard files, kubelet's
profile root, running bundles, Docker's inline per-container profiles and the user's paths.

Pure stdlib, Python 3.9+; every bad file becomes an error entry and the rest is read."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import hashlib
import json
import os
import re

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import (
    FileProblem, is_scratch, is_socket, printable, read_bounded, read_text, walk_files,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import (
    EXPANDING_READERS, LITERAL_READERS, PROFILE_READERS, ProfileError, describe_profile,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import UserControlled, read_file
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.host import add_error as _error
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.rootfs import RootEscape

STANDARD_PROFILES = ('/usr/share/containers/seccomp.json', '/etc/containers/seccomp.json')
KUBELET_SECCOMP = '/var/lib/kubelet/seccomp'
RUNC_STATE = '/run/runc'  # root's runc state directory: state.json names the bundle
MAX_PER_GLOB = 512  # state directories (and a user's config globs) read per pattern at most
# (glob of a running bundle's config.json, engine, index of namespace in path parts or None)
BUNDLE_GLOBS = (
    ('/run/containerd/io.containerd.runtime.v2.task/*/*/config.json', 'containerd'),
    ('/run/containerd/io.containerd.runtime.v1.linux/*/*/config.json', 'containerd'),
    ('/run/docker/containerd/daemon/io.containerd.runtime.v2.task/*/*/config.json', 'docker'),
    ('/run/k3s/containerd/io.containerd.runtime.v2.task/*/*/config.json', 'k3s'),
    ('/var/lib/containers/storage/overlay-containers/*/userdata/config.json', 'podman'),
    ('/run/containers/storage/overlay-containers/*/userdata/config.json', 'cri-o'),
)
# Origins that name one reader of a file (containers-common is read by podman and CRI-O alike, so
# its file is read both ways, as is one with origins of several readers).
_ONE_READER = (EXPANDING_READERS | LITERAL_READERS) - {'kubelet', 'containers-common'}


class Profiles(object):
    """The profiles of one scan. At most ``max_profiles`` are read on the host and ``max_per_user`` of one
    user's (a host with thousands of profiles would otherwise take minutes): past a cap, one error entry
    says so (how many were left unread, from which path on) and the scan goes on without them."""

    def __init__(self, fs, max_size, arch, kernel, errors, crio_present, max_profiles=None, max_per_user=None):
        self.fs = fs
        self.max_size = max_size
        self.arch, self.kernel = arch, kernel
        self.errors = errors
        self.crio_present = crio_present
        self.entries = {}  # key -> entry (key: realpath, or path#inline for Docker hostconfig)
        self.order = []
        self.files_seen = 0
        self.caps = {None: max_profiles, 'user': max_per_user}
        self.taken = {}    # None (the host) or a uid -> profiles read
        self.capped = {}   # None or a uid -> [error entry, profiles not read]

    def _take(self, path, user=None):
        """Count one profile to read; False (and the cap's error entry) when the host's or the user's cap is
        reached."""
        scopes = [None] + ([user['uid']] if user is not None else [])
        for scope in scopes:
            cap = self.caps[None if scope is None else 'user']
            if cap and self.taken.get(scope, 0) >= cap:
                if scope not in self.capped:
                    if scope is None:
                        text = ('profile cap reached: %d profiles read on this host (max_profiles); the rest, from '
                                'this path on, were not read' % cap)
                    else:
                        text = ('profile cap reached: %d profiles of user %s read (max_profiles_per_user); the rest '
                                'of theirs, from this path on, were not read' % (cap, user['name']))
                    _error(self.errors, printable(path), text)
                    self.capped[scope] = [self.errors[-1], 0]
                self.capped[scope][1] += 1
                return False
        for scope in scopes:
            self.taken[scope] = self.taken.get(scope, 0) + 1
        return True

    def _entry(self, key, path, real, origin, bundle):
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = {
                'path': path, 'realpath': real, 'sha256': None, 'size': None, 'format': None,
                'origin': [], 'default_action': None, 'listener_path': None, 'listener_exists': None,
                'architectures': [], 'notify': [], 'notify_syscalls': [], 'bundle': bundle, 'error': None,
                'duplicate_keys': [], 'warning': None, 'owner': None, '_data': None,
            }
            self.order.append(entry)
        if origin not in entry['origin']:
            entry['origin'].append(origin)
        return entry

    def add_file(self, path, engine, setting, must_exist=False, bundle=None, reader=None, user=None):
        origin = {'engine': engine, 'setting': setting}
        if reader:
            origin['reader'] = reader
        if user is not None:
            return self._add_owned(path, origin, must_exist, bundle, user)
        if printable(path) != path:
            # no engine setting, pod spec or JSON config can name it, and it cannot be reported as is
            shown = printable(path)
            self._entry(shown, shown, None, origin, bundle)['error'] = _error(
                self.errors, shown, 'file name is not valid UTF-8 (shown escaped): no engine can name this '
                'file; rename it')
            return
        try:
            real = self.fs.real(path)
        except FileProblem as exc:  # under an audited root: a symlink out of it (no real path), a loop
            self.files_seen += 1
            real = None if isinstance(exc, RootEscape) else path
            self._entry(path, path, real, origin, bundle)['error'] = _error(self.errors, path, exc.message)
            return
        if not os.path.lexists(real):
            if must_exist:
                message = 'does not exist (named by %s %s)%s' % (engine, setting, self._resolved_note(path))
                self._entry(path, path, None, origin, bundle)['error'] = _error(self.errors, path, message)
            return
        self.files_seen += 1
        if not self._take(path):
            return
        try:  # race-free, and never through a user's link into what that user cannot read (issue 26)
            if getattr(self.fs, 'confined', False):  # an audited root: its own dir-fd walk, never out of it
                data, problem = self.fs.read(path, self.max_size), None
            else:
                data, problem = read_file(real, self.max_size), None
        except UserControlled as exc:  # an error entry that names the link, nothing of its target
            self._entry(path, path, None, origin, bundle)['error'] = _error(self.errors, path, exc.message)
            return
        except FileProblem as exc:
            data, problem = None, exc.message
        try:
            resolved = self.fs.host(os.path.realpath(real))
        except (OSError, ValueError, FileProblem):
            resolved = path
        known = resolved in self.entries
        entry = self._entry(resolved, path, resolved, origin, bundle)
        if known:
            return
        if problem:
            entry['error'] = _error(self.errors, path, problem)
        else:
            entry['_data'] = data

    def _resolved_note(self, path):
        """' (a symlink, resolved inside the audited root to X)' when symlinks changed the path, else ''."""
        if not getattr(self.fs, 'confined', False):
            return ''
        try:
            resolved = self.fs.resolve(path)
        except FileProblem:
            return ''
        return '' if resolved == path else ' (a symlink, resolved inside the audited root to %s)' % resolved

    def _add_owned(self, path, origin, must_exist, bundle, user):
        """A file a user controls: read only within what that user owns (user_files.read_owned)."""
        from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import user_files  # lazy: see _scan/__init__.py
        owner = user_files.owner_of(user)
        shown = printable(path)
        if not user_files.lexists(self.fs, path, user):
            if must_exist:
                entry = self._entry(shown, shown, None, origin, bundle)
                entry['owner'] = owner
                entry['error'] = _error(self.errors, shown, 'does not exist (named by %s %s of user %s)'
                                        % (origin['engine'], origin['setting'], user['name']))
            return
        self.files_seen += 1
        if not self._take(path, user):
            return
        try:
            data = user_files.read_owned(self.fs, path, user, self.max_size)
        except FileProblem as exc:  # never the target of a link out of the user's files
            entry = self._entry(shown, shown, None, origin, bundle)
            entry['owner'] = owner
            entry['error'] = _error(self.errors, shown, exc.message)
            return
        try:
            resolved = self.fs.host(os.path.realpath(self.fs.real(path)))
        except (OSError, ValueError):
            resolved = path
        known = resolved in self.entries
        entry = self._entry(resolved, shown, resolved, origin, bundle)
        entry['owner'] = entry['owner'] or owner
        if not known:
            entry['_data'] = data

    def add_inline(self, path, key, data, engine, setting, bundle, owner=None, realpath=None):
        if key not in self.entries and not self._take(path):
            return None
        if realpath is None:
            try:
                realpath = self.fs.host(os.path.realpath(self.fs.real(path)))
            except FileProblem:
                realpath = path
        entry = self._entry(key, path, realpath, {'engine': engine, 'setting': setting}, bundle)
        entry['_data'] = data
        if owner:
            entry['owner'] = owner
        return entry

    def finish(self):
        for entry, unread in self.capped.values():
            entry['error'] += ' (%d not read; raise the cap to read them)' % unread
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

    def _reader(self, entry):
        kinds = set()
        for origin in entry['origin']:
            engine = origin.get('reader') or origin['engine']
            if engine == 'kubelet':
                kinds.add(None if self.crio_present else 'kubelet')
            elif engine in _ONE_READER:
                kinds.add(engine)
            else:
                kinds.add(None)
        return kinds.pop() if len(kinds) == 1 else None

    def _describe(self, entry, data):
        try:
            info = describe_profile(data, arch=self.arch, kernel=self.kernel, reader=self._reader(entry))
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
        try:
            entry['listener_exists'] = is_socket(self.fs.real(listener)) if listener else None
        except FileProblem:
            entry['listener_exists'] = None
        if any(o.get('engine') == 'nerdctl' for o in entry['origin']):
            entry['listener_exists'] = None  # one socket per container, made when nerdctl starts it
        return True


def docker_hostconfigs(fs, profiles, data_root, errors):
    """Per-container profiles Docker stores inline: hostconfig.json SecurityOpt "seccomp=<json>"."""
    for path in fs.glob(os.path.join(data_root, 'containers', '*', 'hostconfig.json')):
        profiles.files_seen += 1
        try:
            doc = json.loads(fs.read_text(path, profiles.max_size) if getattr(fs, 'confined', False)
                             else read_text(fs.real(path), profiles.max_size))
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


def bundles(fs, profiles, engine_names):
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
    for config, cid, _pid in state_bundles(fs, None, RUNC_STATE):
        profiles.add_file(config, 'bundle', 'runc state %s/%s (running or hung container)' % (RUNC_STATE, cid),
                          bundle={'id': cid, 'namespace': None, 'engine': 'runc'})


def state_bundles(fs, scan, state_root):
    """Running (or hung) runc containers of a state directory: state.json names the bundle."""
    user = scan.user if scan else None
    out = []
    pattern = fs.real(os.path.join(state_root, '*', 'state.json'))
    for path in sorted(fs.host(p) for p in glob.glob(pattern))[:MAX_PER_GLOB]:
        try:
            if user:
                from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.user_files import read_owned  # lazy
                data = read_owned(fs, path, user, 4 << 20)
            elif getattr(fs, 'confined', False):  # a node root: walked inside it, a FIFO or device never opened
                data = fs.read(path, 4 << 20, 'state.json limit')
            else:  # bounded, never blocks on a FIFO (as root: _safefile.read_file)
                data = read_bounded(fs.real(path), 4 << 20)
            doc = json.loads(data.decode('utf-8', 'replace'))
        except (FileProblem, ValueError, OSError) as exc:
            if scan:
                scan.error(path, getattr(exc, 'message', None) or 'unreadable state.json: %s' % exc)
            continue
        labels = ((doc.get('config') or {}).get('labels') or []) if isinstance(doc, dict) else []
        bundle = next((lab[len('bundle='):] for lab in labels if isinstance(lab, str) and lab.startswith('bundle=')),
                      None)
        if not bundle or not bundle.startswith('/'):
            continue
        if user and bundle.startswith('/run/containerd/'):  # inside rootlesskit's mount namespace
            bundle = os.path.join(user['runtime_dir'], 'containerd', bundle[len('/run/containerd/'):])
        cid = path.split('/')[-2]
        out.append((os.path.join(bundle, 'config.json'), cid, doc.get('init_process_pid')))
    return out


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


def user_profiles(fs, profiles, items, errors):
    for pattern, reader in profile_path_items(items):
        matches = fs.glob(pattern) if glob.has_magic(pattern) else [pattern]
        if not matches:
            _error(errors, pattern, 'profile_paths entry matched nothing')
        for path in matches:
            try:
                is_dir = os.path.isdir(fs.real(path))
            except FileProblem:
                is_dir = False
            if is_dir:
                walk(fs, profiles, path, 'user', 'profile_paths (directory %s)' % path, errors, reader=reader)
            else:
                profiles.add_file(path, 'user', 'profile_paths', must_exist=True, reader=reader)


def walk(fs, profiles, top, engine, setting, errors, sub_settings=None, reader=None):
    try:
        real_top = fs.real(top)
    except FileProblem as exc:
        _error(errors, top, exc.message)
        return
    for real, problem in walk_files(real_top):
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
