#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: runc_pin_apply
short_description: Point container engines at a side-by-side runc, record what changed, and undo it
version_added: 0.2.0
description:
  - Every change the C(runcguard.seccomp.runc_pin) role makes to files. It installs a verified runc binary,
    sets the runtime path in the engines' configurations, records the original of every file and every
    directory it creates under O(state_dir), and (O(state=absent)) restores them.
  - "containerd: a C(version = 1) or C(version = 2) config is edited in place (containerd 1.x replaces an
    imported plugin section as a whole, so a drop-in would drop C(SystemdCgroup), C(sandbox_image), the CNI
    and registry settings); C(version = 3) (containerd 2.x, which deep-merges imports) gets a drop-in."
  - "Docker: C(daemon.json) gets a runtime named O(docker_runtime_name) that becomes the default runtime and
    inherits the old default runtime's C(runtimeArgs). CRI-O and podman get a drop-in."
  - Every edit keeps every other byte (comments, key order, indentation, line endings, a byte order mark,
    non-ASCII text, a missing final newline), the file's owner, group, mode and extended attributes, and
    edits the end of a symlink (the link stays).
  - Every check runs before anything changes; where the engine's binary is on the host the candidate
    configuration is validated with it (C(containerd --config FILE config dump), C(dockerd --validate))
    and a configuration it refuses, or a change of any containerd setting but the runtime path, refuses
    the whole pin with the engine's message.
author:
  - runcguard maintainers (@runcguard)
extends_documentation_fragment:
  - runcguard.seccomp._attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - One diff per file, created files included; directories and the binary are listed as prepared text.
  idempotent:
    support: full
  platform:
    support: full
    platforms: posix
options:
  state:
    description:
      - V(present) pins, V(absent) undoes everything the record holds (then forgets the record),
        V(snapshot) only reports whether a record exists and what it holds.
    type: str
    choices: [present, absent, snapshot]
    default: present
  binary:
    description:
      - Where the pinned runc lives (C(/usr/local/sbin/runc-1.1.13)). Required when O(engines) is not empty.
    type: path
  binary_src:
    description:
      - A file on the host (a verified download) installed as O(binary) when O(binary) does not hold
        O(binary_sha256) yet; it is removed afterwards.
    type: path
  binary_sha256:
    description:
      - sha256 of the runc binary. Required when O(engines) is not empty.
    type: str
  record:
    description:
      - Files the caller changes itself (the package method's apt preferences or versionlock file). Their
        originals are recorded (once) before the caller writes them, so O(state=absent) puts them back.
    type: list
    elements: path
    default: []
  packages:
    description:
      - Package versions and holds before the first pin (from C(runcguard.seccomp.runc_pin_state)), kept once as
        C(packages.json) in O(state_dir) for the unpin.
    type: dict
  installed:
    description:
      - Packages the caller just installed for the pin (dnf4's C(python3-dnf-plugin-versionlock)); recorded, and
        O(state=absent) reports them in RV(packages_before.remove) for removal.
    type: list
    elements: str
    default: []
  forget:
    description:
      - With O(state=absent), remove the record afterwards. V(false) keeps it (the role puts packages back
        from it first, then forgets).
    type: bool
    default: true
  engines:
    description:
      - Engines to point at O(binary).
    type: list
    elements: str
    choices: [docker, containerd, cri-o, podman]
    default: []
  docker_daemon_json:
    description: Docker's configuration.
    type: path
    default: /etc/docker/daemon.json
  docker_runtime_name:
    description: Name of the runtime added to C(daemon.json).
    type: str
    default: runcguard-runc
  containerd_config:
    description: containerd's configuration.
    type: path
    default: /etc/containerd/config.toml
  containerd_dropin:
    description: The drop-in for C(version = 3) configurations (and the one earlier releases wrote for every version).
    type: path
    default: /etc/containerd/conf.d/runcguard-runc.toml
  crio_config:
    description: CRI-O's main configuration (its drop-in directory is O(crio_dropin)'s directory).
    type: path
    default: /etc/crio/crio.conf
  crio_dropin:
    description: The CRI-O drop-in.
    type: path
    default: /etc/crio/crio.conf.d/99-runcguard-runc.conf
  podman_dropin:
    description: The containers.conf drop-in for podman.
    type: path
    default: /etc/containers/containers.conf.d/99-runcguard-runc.conf
  state_dir:
    description: Where originals and markers are recorded (root only).
    type: path
    default: /var/lib/runcguard/runc_pin
  validate:
    description: Validate candidate configurations with the engines' own binaries where they are installed.
    type: bool
    default: true
  timeout:
    description: Seconds any one engine command may run.
    type: int
    default: 30
notes:
  - podman and CRI-O have no validator that reads a candidate file; their drop-ins are checked with the
    collection's TOML reader.
seealso:
  - module: runcguard.seccomp.runc_pin_state
'''

EXAMPLES = r'''
- name: Point containerd and Docker at runc 1.1.13
  runcguard.seccomp.runc_pin_apply:
    binary: /usr/local/sbin/runc-1.1.13
    binary_src: /usr/local/sbin/.runc-1.1.13.runcguard-download
    binary_sha256: bcfc299c1ab255e9d045ffaf2e324c0abaf58f599831a7c2c4a80b33f795de94
    engines: [containerd, docker]

- name: Undo it
  runcguard.seccomp.runc_pin_apply:
    state: absent
'''

RETURN = r'''
engines:
  description: Per engine, the configuration file changed, the runtime it runs and how the result was validated.
  returned: state=present
  type: dict
  contains:
    config:
      description: The file that now names the binary.
      type: str
    runtime:
      description: The runtime name pointed at the binary.
      type: str
    validated_by:
      description: V(containerd config dump), V(dockerd --validate) or V(model) (the collection's own parse).
      type: str
    note:
      description: Anything else the pin did for this engine (e.g. an earlier release's drop-in undone).
      type: str
files:
  description: Files written, created or removed (real paths, symlinks followed).
  returned: always
  type: list
  elements: str
dirs:
  description: Directories created (state=present) or removed (state=absent).
  returned: always
  type: list
  elements: str
restored:
  description: What the undo did (state=absent), or would do (state=snapshot).
  returned: state=absent or state=snapshot
  type: dict
  contains:
    restored:
      description: Files put back to their recorded originals.
      type: list
      elements: str
    removed:
      description: Files removed (they did not exist before the first pin).
      type: list
      elements: str
    dirs_removed:
      description: Directories removed.
      type: list
      elements: str
    dirs_kept:
      description: Directories runc_pin created that now hold other files (kept).
      type: list
      elements: str
packages_before:
  description:
    - The package state recorded before the first pin (state=absent and state=snapshot), ready for the package
      manager, or null when the pin changed no package.
  returned: state=absent or state=snapshot
  type: dict
  contains:
    manager:
      description: V(dpkg) or V(rpm).
      type: str
    install:
      description: The recorded versions as install specs (C(name=version) / C(name-version)), one transaction.
      type: list
      elements: str
    names:
      description: The packages recorded.
      type: list
      elements: str
    selections:
      description: dpkg selections to put back (C(name), C(selection)).
      type: list
      elements: dict
    remove:
      description: Packages the pin itself installed (to remove on unpin).
      type: list
      elements: str
records:
  description: Whether a record of an earlier pin existed when the module started.
  returned: always
  type: bool
fingerprint:
  description:
    - sha256 over the record and the current owner, mode and bytes of every file it names (state=snapshot).
      Two snapshots with the same fingerprint mean no pin changed or recorded anything in between.
  returned: state=snapshot
  type: str
'''

import glob
import hashlib
import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.runcguard.seccomp.plugins.module_utils import _files, _pins, _safefile
from ansible_collections.runcguard.seccomp.plugins.module_utils._pin import configs, record, validate

LOCK_TIMEOUT = 60


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


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
        if self.tmp is None:
            self.tmp = tempfile.mkdtemp(prefix='rcg-runc-pin-')
        path = os.path.join(self.tmp, name)
        with open(path, 'wb') as handle:
            handle.write(data)
        return path

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


def _diff(planner, binary_change, dirs):
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


def present(module, rec):
    p = module.params
    if p['engines'] and (not p['binary'] or not p['binary_sha256']):
        module.fail_json(msg='runc_pin_apply: pointing engines at a runc needs binary and binary_sha256')
    binary, sha = p['binary'], (p['binary_sha256'] or '').lower()
    binary_change = None
    if binary and not (os.path.isfile(binary) and _sha256(binary) == sha):
        src = p['binary_src']
        if src and os.path.isfile(src):
            if _sha256(src) != sha:
                module.fail_json(msg='runc_pin_apply: %s does not have sha256 %s; nothing was changed' % (src, sha))
        elif not module.check_mode:
            module.fail_json(msg='runc_pin_apply: %s is missing or has another sha256, and no verified copy '
                                 '(binary_src) is there to install; nothing was changed' % binary)
        binary_change = 'install runc %s (sha256 %s)' % (binary, sha)
    planner = Planner(module)
    try:
        for engine in p['engines']:
            try:
                getattr(planner, engine.replace('-', ''))(binary)
            except (configs.PinError, _files.FileProblem, record.RecordError) as exc:
                planner.errors.append('%s: %s' % (engine, getattr(exc, 'message', None) or exc))
    finally:
        planner.cleanup()
    for path in sorted(planner.changes) + ([binary] if binary_change else []):
        existing = path
        while not os.path.lexists(existing) and existing != '/':
            existing = os.path.dirname(existing)
        control = _safefile.user_control(existing)
        if control:
            planner.errors.append('%s: %s is %s; root does not write there' % (path, control[0], control[1]))
    if planner.errors:
        module.fail_json(msg='runc_pin_apply: %s. Nothing was changed.' % '; '.join(planner.errors),
                         errors=planner.errors)
    writes = sorted(planner.changes)
    dirs = []
    for path in writes + ([binary] if binary_change else []):
        for parent in record.missing_parents(path):
            if parent not in dirs:
                dirs.append(parent)
    to_record = [record.real_target(f) for f in p['record'] if not rec.recorded(record.real_target(f))]
    packages = p['packages'] is not None and not os.path.exists(os.path.join(rec.state_dir, 'packages.json'))
    known = (rec.packages() or {}).get('installed_by_pin', []) if rec.exists() else []
    installed = [n for n in p['installed'] if n not in known]
    changed = bool(writes or binary_change or to_record or packages or installed)
    result = dict(changed=changed, engines=planner.engines, files=writes + ([binary] if binary_change else []),
                  dirs=dirs)
    if module._diff:
        result['diff'] = _diff(planner, binary_change, dirs)
    if not changed or module.check_mode:
        return result
    if not os.path.isdir(os.path.dirname(rec.state_dir)):
        rec.open()
    lock = _safefile.lock_file(rec.lock_path, LOCK_TIMEOUT)
    try:
        rec.open()
        rec.clean_scratch(([binary] if binary else []) + writes + [record.real_target(f) for f in p['record']])
        # every original recorded (and synced) before anything changes
        for path in ([binary] if binary_change else []) + writes + to_record:
            rec.keep_original(path)
        if packages:
            rec.keep_packages(p['packages'])
        if installed:
            rec.keep_installed(installed)
        for path in ([binary] if binary_change else []) + writes:
            rec.make_parents(path)
        if binary_change:
            src = p['binary_src']
            data = _safefile.read_file(src, record.FILE_LIMIT)
            if hashlib.sha256(data).hexdigest() != sha:
                module.fail_json(msg='runc_pin_apply: %s changed while it was installed' % src)
            _safefile.write_file(binary, data, attrs=_safefile.Attributes(0, 0, 0o755), max_size=record.FILE_LIMIT)
            _safefile.remove_file(src)
        for path in writes:
            data = planner.changes[path]
            if data is None:
                _safefile.remove_file(path)
            else:  # a replaced file keeps its owner, group, mode and xattrs; a new one is root:root 0644
                _safefile.write_file(path, data, max_size=record.FILE_LIMIT)
    finally:
        lock.release()
    return result


def absent(module, rec):
    if not rec.exists():
        return dict(changed=False, restored={}, files=[], dirs=[])
    lock = None if module.check_mode else _safefile.lock_file(rec.lock_path, LOCK_TIMEOUT)
    try:
        if not module.check_mode:
            rec.clean_scratch([])
        done = rec.restore(check=module.check_mode)
        if not module.check_mode and module.params['forget']:
            rec.forget()
    finally:
        if lock is not None:
            lock.release()
    # after the lock (its file sits beside the state directory) is gone
    parents = done.pop('state_parents', [])
    if module.params['forget']:
        done['dirs_removed'] += rec.remove_dirs(parents, check=module.check_mode)
    files = done['restored'] + done['removed']
    result = dict(changed=bool(files or done['dirs_removed']) or module.params['forget'], restored=done, files=files,
                  dirs=done['dirs_removed'])
    if module._diff:
        result['diff'] = [{'prepared': ''.join('restore %s\n' % f for f in done['restored'])
                           + ''.join('remove %s\n' % f for f in done['removed'])
                           + ''.join('remove directory %s\n' % d for d in done['dirs_removed'])
                           + 'forget the record %s\n' % rec.state_dir}]
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'absent', 'snapshot'], default='present'),
            binary=dict(type='path'),
            binary_src=dict(type='path'),
            binary_sha256=dict(type='str'),
            engines=dict(type='list', elements='str', choices=['docker', 'containerd', 'cri-o', 'podman'], default=[]),
            docker_daemon_json=dict(type='path', default='/etc/docker/daemon.json'),
            docker_runtime_name=dict(type='str', default='runcguard-runc'),
            containerd_config=dict(type='path', default='/etc/containerd/config.toml'),
            containerd_dropin=dict(type='path', default='/etc/containerd/conf.d/runcguard-runc.toml'),
            crio_config=dict(type='path', default='/etc/crio/crio.conf'),
            crio_dropin=dict(type='path', default='/etc/crio/crio.conf.d/99-runcguard-runc.conf'),
            podman_dropin=dict(type='path', default='/etc/containers/containers.conf.d/99-runcguard-runc.conf'),
            state_dir=dict(type='path', default='/var/lib/runcguard/runc_pin'),
            record=dict(type='list', elements='path', default=[]),
            installed=dict(type='list', elements='str', default=[]),
            packages=dict(type='dict'),
            forget=dict(type='bool', default=True),
            validate=dict(type='bool', default=True),
            timeout=dict(type='int', default=30),
        ),
        supports_check_mode=True,
    )
    rec = record.Record(module.params['state_dir'])
    had_records = rec.exists()
    before = rec.packages() if had_records else None
    packages_before = _pins.restore_specs(before) if before else None
    try:
        if module.params['state'] == 'snapshot':
            restores, removals, dirs = rec.plan_restore() if had_records else ([], [], [])
            result = dict(changed=False, files=restores + removals, dirs=dirs, fingerprint=rec.fingerprint(),
                          restored={'restored': restores, 'removed': removals, 'dirs_removed': dirs, 'dirs_kept': []})
        elif module.params['state'] == 'absent':
            result = absent(module, rec)
        else:
            result = present(module, rec)
    except (_files.FileProblem, record.RecordError, OSError) as exc:  # _safefile.UserControlled included
        module.fail_json(msg='runc_pin_apply: %s' % (getattr(exc, 'message', None) or exc), records=had_records)
    result['records'] = had_records
    if module.params['state'] != 'present':
        result['packages_before'] = packages_before
    module.exit_json(**result)


if __name__ == '__main__':
    main()
