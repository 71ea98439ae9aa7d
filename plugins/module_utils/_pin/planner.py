# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runc_pin_apply's plan for each engine: the bytes each configuration file would get (``Planner.changes``),
checked by the engine's own parser where it has one, and the diff of it all. Nothing is written here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import shutil
import tempfile

from ansible_collections.runcguard.seccomp.plugins.module_utils import _files, _safefile
from ansible_collections.runcguard.seccomp.plugins.module_utils._pin import configs, record, validate


def _text(data):
    return '' if data is None else data.decode('utf-8', 'replace')


def _read(path):
    """Current bytes at the end of ``path``'s links (None: absent)."""
    target = record.real_target(path)
    try:
        return target, record.read_file(target)
    except _files.FileProblem as exc:
        raise configs.PinError('%s: %s' % (path, exc.message))


def _existing(paths):
    out = []
    for path in paths:
        if os.path.isfile(path):
            out.append((path, record.read_file(path)))
    return out


class Planner(object):
    """The changes pinning ``binary`` in the chosen engines needs (one method per engine)."""

    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.changes = {}      # real path -> new bytes or None (remove)
        self.before = {}       # real path -> current bytes or None
        self.engines = {}
        self.errors = []
        self.tmp = None

    def change(self, path, data):
        if path not in self.before:
            self.before[path] = record.read_file(path) if os.path.lexists(path) else None
        if data != self.before[path]:
            self.changes[path] = data

    def scratch(self, name, data):
        """A candidate file for an engine's own validator, written through _safefile in a fresh 0700
        directory of ours (mkdtemp)."""
        if self.tmp is None:
            self.tmp = tempfile.mkdtemp(prefix='rcg-runc-pin-')
        with _safefile.SafeDir.open(self.tmp) as sdir:
            sdir.write(name, data, attrs=_safefile.Attributes(0, 0, 0o600))
        return os.path.join(self.tmp, name)

    def cleanup(self):
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -------------------------------------------------------------- engines
    def containerd(self, binary):
        p = self.p
        path, current = _read(p['containerd_config'])
        dropin_path, dropin = _read(p['containerd_dropin'])
        imports = {}
        if current is not None:
            doc = configs.read_toml(path, current.decode('utf-8', 'replace'))
            for pattern in doc.get(('imports',)) or []:
                if not isinstance(pattern, str):
                    raise configs.PinError('%s: imports entries must be strings' % path)
                full = pattern if pattern.startswith('/') else os.path.join(os.path.dirname(path), pattern)
                for item in sorted(glob.glob(full)):
                    if os.path.realpath(item) != os.path.realpath(p['containerd_dropin']):
                        imports[item] = record.read_file(item)
        out, name, note = configs.pin_containerd(path, current, p['containerd_dropin'], dropin, binary, imports)
        for fpath, data in out.items():
            self.change(dropin_path if fpath == p['containerd_dropin'] else fpath, data)
        self.engines['containerd'] = {'config': path, 'runtime': name, 'note': note,
                                      'validated_by': self._check_containerd(path, current, out, binary)}

    def _check_containerd(self, path, current, out, binary):
        engine = validate.trusted_binary('containerd') if self.p['validate'] else None
        if not engine:
            return 'model'
        new = out.get(path, current)
        timeout = self.p['timeout']
        dropin_path = self.p['containerd_dropin']
        before_text = current if current is not None else b''
        base = configs.read_toml(path, _text(before_text))
        if dropin_path in (base.get(('imports',)) or []) and dropin_path not in (
                configs.read_toml(path, _text(new)).get(('imports',)) or []):
            base.remove_from_array('imports', dropin_path)  # an earlier release's drop-in is undone too
        cand = configs.read_toml(path, _text(new))
        if dropin_path in out and out[dropin_path] is not None:
            # the candidate imports the drop-in from where it would be validated, not from /etc
            cand.remove_from_array('imports', dropin_path)
            cand.add_to_array('imports', self.scratch('dropin.toml', out[dropin_path]))
        rel = [i for i in (cand.get(('imports',)) or []) if isinstance(i, str) and not i.startswith('/')]
        if rel:
            return 'model (relative imports: %s)' % ', '.join(rel)
        before, err = validate.containerd_dump(engine, self.scratch('before.toml', configs._encode(base.render())),
                                               timeout)
        if err:
            raise configs.PinError('containerd refuses the current %s: %s; fix it first' % (path, err))
        after, err = validate.containerd_dump(engine, self.scratch('candidate.toml', configs._encode(cand.render())),
                                              timeout)
        if err:
            raise configs.PinError('containerd refuses the pinned %s: %s' % (path, err))
        version = configs.containerd_version(cand.data, path)
        dummy, key = configs.containerd_runtime(cand.data, version, path)
        # containerd dumps a version 1 config as version 2
        key = ('plugins', configs.CRI_PLUGIN[3 if version == 3 else 2]) + key[2:]
        problem = validate.containerd_compare(before, after, key, binary)
        if problem:
            raise configs.PinError('%s: %s' % (path, problem))
        return 'containerd config dump'

    def docker(self, binary):
        p = self.p
        path, current = _read(p['docker_daemon_json'])
        new, inherited = configs.pin_docker(path, current, binary, p['docker_runtime_name'])
        note = 'runtimeArgs of the default runtime %s kept' % inherited if inherited else ''
        validated = 'model'
        if new is not None:
            self.change(path, new)
            engine = validate.trusted_binary('dockerd') if p['validate'] else None
            if engine and validate.dockerd_validates(engine, p['timeout']):
                err = validate.dockerd_validate(engine, self.scratch('daemon.json', new), p['timeout'])
                if err:
                    raise configs.PinError('dockerd refuses the pinned %s: %s' % (path, err))
                validated = 'dockerd --validate'
        self.engines['docker'] = {'config': path, 'runtime': p['docker_runtime_name'], 'validated_by': validated,
                                  'note': note}

    def crio(self, binary):
        p = self.p
        dropin_dir = os.path.dirname(p['crio_dropin'])
        mine = record.real_target(p['crio_dropin'])
        files = [p['crio_config']] + sorted(
            f for f in glob.glob(os.path.join(dropin_dir, '*')) if record.real_target(f) != mine
            and not os.path.basename(f).startswith('.'))
        new, name = configs.crio_dropin(_existing(files), binary)
        self.change(mine, new)
        self.engines['cri-o'] = {'config': mine, 'runtime': name, 'validated_by': 'model', 'note': ''}

    def podman(self, binary):
        p = self.p
        mine = record.real_target(p['podman_dropin'])
        files = ['/usr/share/containers/containers.conf', '/etc/containers/containers.conf']
        for d in ('/usr/share/containers/containers.conf.d', os.path.dirname(p['podman_dropin'])):
            files += sorted(f for f in glob.glob(os.path.join(d, '*.conf')) if record.real_target(f) != mine)
        new, name = configs.podman_dropin(_existing(files), binary)
        self.change(mine, new)
        self.engines['podman'] = {'config': mine, 'runtime': name, 'validated_by': 'model', 'note': ''}


def diff(planner, binary_change, dirs):
    diffs = []
    prepared = ['create directory %s' % d for d in dirs]
    if binary_change:
        prepared.append(binary_change)
    if prepared:
        diffs.append({'prepared': '\n'.join(prepared) + '\n'})
    for path in sorted(planner.changes):
        diffs.append({'before_header': path if planner.before[path] is not None else '%s (absent)' % path,
                      'after_header': path if planner.changes[path] is not None else '%s (removed)' % path,
                      'before': _text(planner.before[path]), 'after': _text(planner.changes[path])})
    return diffs
