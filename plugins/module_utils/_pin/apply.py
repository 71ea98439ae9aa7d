# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runc_pin_apply's states: ``present`` (verify the binary, plan, record every original, then write),
``absent`` (restore what the record holds) and ``snapshot`` (what a restore would do, read only)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

from ansible_collections.runcguard.seccomp.plugins.module_utils import _files, _safefile
from ansible_collections.runcguard.seccomp.plugins.module_utils._pin import configs, record, userbin
from ansible_collections.runcguard.seccomp.plugins.module_utils._pin.planner import Planner, diff

LOCK_TIMEOUT = 60


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _user_binaries(module, sha):
    """The ``user_binaries`` that need the verified runc (each checked; any problem fails the module
    before anything changes, naming every path and user)."""
    items = module.params.get('user_binaries') or []
    if items and not sha:
        module.fail_json(msg='runc_pin_apply: user_binaries needs binary_sha256; nothing was changed')
    out, errors = [], []
    for item in items:
        try:
            found = userbin.check(item['path'], item['owner'], sha)
        except userbin.UserBinaryError as exc:
            errors.append('%s' % exc)
            continue
        if found['change'] and found['path'] not in [u['path'] for u in out]:
            out.append(found)
    if errors:
        module.fail_json(msg='runc_pin_apply: %s. Nothing was changed.' % '; '.join(errors), errors=errors)
    return out


def present(module, rec):
    """Pin: the verified binary installed and the engines pointed at it, every original recorded first."""
    p = module.params
    if p['engines'] and (not p['binary'] or not p['binary_sha256']):
        module.fail_json(msg='runc_pin_apply: pointing engines at a runc needs binary and binary_sha256')
    binary, sha = p['binary'], (p['binary_sha256'] or '').lower()
    binary_change = None
    users = _user_binaries(module, sha)
    if (binary and not (os.path.isfile(binary) and _sha256(binary) == sha)) or users:
        src = p['binary_src']
        if src and os.path.isfile(src):
            if _sha256(src) != sha:
                module.fail_json(msg='runc_pin_apply: %s does not have sha256 %s; nothing was changed' % (src, sha))
        elif not module.check_mode:
            module.fail_json(msg='runc_pin_apply: %s is missing or has another sha256, and no verified copy '
                                 '(binary_src) is there to install; nothing was changed' % (binary or users[0]['path']))
        if binary and not (os.path.isfile(binary) and _sha256(binary) == sha):
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
    user_paths = [u['path'] for u in users]
    changed = bool(writes or binary_change or to_record or packages or installed or users)
    result = dict(changed=changed, engines=planner.engines, files=writes + ([binary] if binary_change else []) + user_paths,
                  dirs=dirs, users=[{'path': u['path'], 'owner': u['owner'], 'sha256_before': u['sha256']} for u in users])
    if module._diff:
        result['diff'] = diff(planner, binary_change, dirs)
        if users:
            result['diff'].append({'prepared': ''.join('replace %s (user %s) in place with runc sha256 %s, owner and mode '
                                                       'kept\n' % (u['path'], u['owner']['name'], sha) for u in users)})
    if not changed or module.check_mode:
        return result
    if not os.path.isdir(os.path.dirname(rec.state_dir)):
        rec.open()
    lock = _safefile.lock_file(rec.lock_path, LOCK_TIMEOUT)
    try:
        rec.open()
        rec.clean_scratch(([binary] if binary else []) + writes + [record.real_target(f) for f in p['record']],
                          user_paths=user_paths)
        # every original recorded (and synced) before anything changes
        for path in ([binary] if binary_change else []) + writes + to_record:
            rec.keep_original(path)
        for path in user_paths:
            rec.keep_original(path, user_owned=True)
        if packages:
            rec.keep_packages(p['packages'])
        if installed:
            rec.keep_installed(installed)
        for path in ([binary] if binary_change else []) + writes:
            rec.make_parents(path)
        if binary_change or users:
            src = p['binary_src']
            data = _safefile.read_file(src, record.FILE_LIMIT)
            if hashlib.sha256(data).hexdigest() != sha:
                module.fail_json(msg='runc_pin_apply: %s changed while it was installed' % src)
            if binary_change:
                _safefile.write_file(binary, data, attrs=_safefile.Attributes(0, 0, 0o755), max_size=record.FILE_LIMIT)
            for user in users:  # the same path, the user's owner, group and mode
                userbin.replace(user['path'], data, user['owner']['uid'])
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
    """Unpin: every recorded original restored (and the record forgotten with ``forget``)."""
    if not rec.exists():  # nothing recorded; a pin killed while it made the state directory left a journal
        found, removed = rec.clean_journal(check=module.check_mode)
        result = dict(changed=found, restored={'restored': [], 'removed': [], 'dirs_removed': removed,
                                               'dirs_kept': []}, files=[], dirs=removed)
        if module._diff and found:
            result['diff'] = [{'prepared': ''.join('remove directory %s\n' % d for d in removed)
                               + 'forget the journal of a killed pin beside %s\n' % rec.state_dir}]
        return result
    lock = None if module.check_mode else _safefile.lock_file(rec.lock_path, LOCK_TIMEOUT)
    try:
        if not module.check_mode:
            rec.clean_scratch([])
        done = rec.restore(check=module.check_mode)
        if not module.check_mode and module.params['forget']:
            rec.journal(done.get('state_parents', []))  # a kill after forget still leaves them known
            rec.forget()
    finally:
        if lock is not None:
            lock.release()
    # after the lock (its file sits beside the state directory) is gone
    parents = done.pop('state_parents', [])
    if module.params['forget']:
        done['dirs_removed'] += rec.remove_dirs(parents, check=module.check_mode)
        done['dirs_removed'] += rec.clean_journal(check=module.check_mode)[1]
    files = done['restored'] + done['removed']
    result = dict(changed=bool(files or done['dirs_removed']) or module.params['forget'], restored=done, files=files,
                  dirs=done['dirs_removed'])
    if module._diff:
        result['diff'] = [{'prepared': ''.join('restore %s\n' % f for f in done['restored'])
                           + ''.join('remove %s\n' % f for f in done['removed'])
                           + ''.join('remove directory %s\n' % d for d in done['dirs_removed'])
                           + 'forget the record %s\n' % rec.state_dir}]
    return result


def snapshot(rec, had_records):
    """What a restore would do now, and the record's fingerprint; nothing is changed."""
    restores, removals, dirs = rec.plan_restore() if had_records else ([], [], [])
    return dict(changed=False, files=restores + removals, dirs=dirs, fingerprint=rec.fingerprint(),
                restored={'restored': restores, 'removed': removals, 'dirs_removed': dirs, 'dirs_kept': []})
