# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""runc_pin's record of what it changed, the writes themselves, and the undo.

Pure stdlib, Python 3.9+. The record lives in ``state_dir`` (root only, 0700):

* ``orig/<path>``          the original bytes of a file before the first pin, with its owner, group,
                           mode and extended attributes;
* ``absent/<path>``        a marker: the file did not exist before the first pin;
* ``dirs/<dir>/.created``  a marker: runc_pin created this directory (every missing parent);
* ``format``               ``2``: originals carry their owner (records of older releases do not).

An original owned by a non-root user is a user's own runc that was upgraded in place
(``_pin/userbin``): it goes back as that user's file, never through a lock file in the home.

A record is written (and synced) before the file it describes changes, so a run killed at any point
is undone by ``restore``. Files are always edited at the end of their symlinks: the link stays.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import json
import os
import shutil
import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils import _files, _safefile
from ansible_collections.runcguard.seccomp.plugins.module_utils._pin import userbin
from ansible_collections.runcguard.seccomp.plugins.module_utils._pin.journal import Journal

FORMAT = b'2\n'
FILE_LIMIT = 64 << 20  # a runc binary is ~10 MiB


class RecordError(Exception):
    pass


def real_target(path):
    """Where a write to ``path`` lands: the end of its symlinks when each is root's own (a root-owned link
    in directories only root can change), the path itself when it is no link, or when a link on the way is
    one a user controls (root never resolves that: the ``_safefile`` write of the path then refuses it)."""
    if not os.path.islink(path):
        return path
    try:
        found = _safefile.walk(path, 'write')
    except _files.FileProblem:
        return path
    try:
        return found.path
    finally:
        found.close()


def missing_parents(path):
    """Directories above ``path`` that do not exist, outermost first."""
    out = []
    parent = os.path.dirname(path)
    while parent and parent != '/' and not os.path.lexists(parent):
        out.append(parent)
        parent = os.path.dirname(parent)
    return list(reversed(out))


def _attrs(mode=0o644, like=None):
    """Attributes for a write: those of ``like`` ((stat, path) of a file of ours) or root:root ``mode``."""
    if like is None:
        return _safefile.Attributes(0, 0, mode)
    st, source = like
    xattrs = {}
    if hasattr(os, 'listxattr'):
        try:
            for key in os.listxattr(source, follow_symlinks=False):
                try:
                    xattrs[key] = os.getxattr(source, key, follow_symlinks=False)
                except OSError:
                    pass
        except OSError:
            pass
    return _safefile.Attributes(st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), xattrs)


def _new_file(dest, data, mode=0o644, like=None):
    """Atomically put ``data`` at ``dest`` (created or replaced) through the race-free root writer
    (``_safefile``), with the attributes of ``like`` or root:root ``mode``."""
    _safefile.write_file(dest, data, attrs=_attrs(mode, like), max_size=FILE_LIMIT)


def _mkdir(path, mode):
    """Create directory ``path`` (its parent exists) root-owned ``mode``, without following a user's links."""
    with _safefile.SafeDir.open(path, create=True, mode=mode) as sdir:
        os.fchmod(sdir.fd, mode)  # the umask narrowed it


def read_file(path, limit=FILE_LIMIT):
    """Bytes of the regular file at the end of ``path``'s links, or None when there is none."""
    if not os.path.lexists(path):
        return None
    return _safefile.read_file(path, limit)


class Record(Journal):

    def __init__(self, state_dir):
        self.state_dir = state_dir.rstrip('/') or '/'
        # the lock of the record: .<state dir name>.record.runcguard-lock beside the state directory
        self.lock_path = self.state_dir + '.record'

    def _at(self, kind, path):
        return os.path.join(self.state_dir, kind, path.lstrip('/'))

    def exists(self):
        return os.path.isdir(self.state_dir)

    def recorded(self, path):
        """``orig``, ``absent`` or None."""
        for kind in ('orig', 'absent'):
            if os.path.lexists(self._at(kind, path)):
                return kind
        return None

    def dir_recorded(self, path):
        return os.path.exists(os.path.join(self._at('dirs', path), '.created'))

    def owner_kept(self):
        try:
            with open(os.path.join(self.state_dir, 'format'), 'rb') as handle:
                return handle.read(8) == FORMAT
        except (IOError, OSError):
            return False

    # ------------------------------------------------------------------ writing the record
    def _mkdirs(self, path, mode=0o700):
        if not os.path.isdir(path):
            for parent in missing_parents(os.path.join(path, 'x')):
                _mkdir(parent, mode)

    def open(self):
        """Create the state directory (records the parents it had to create); returns those parents.

        The parents are written to a journal beside the outermost of them *before* any is created, and
        the journal goes once their markers are in the record: a run killed in between leaves a journal
        that ``clean_journal`` (unpin) follows, never a directory nobody knows about."""
        created = []
        if self.exists():
            return created
        parents = missing_parents(os.path.join(self.state_dir, 'x'))
        self._write_journal(parents)
        for parent in parents:
            _mkdir(parent, 0o700 if parent == self.state_dir else 0o755)
        _new_file(os.path.join(self.state_dir, 'format'), FORMAT, 0o600)
        for parent in parents:
            if parent != self.state_dir:
                self._marker('dirs', parent)
                created.append(parent)
        self.clean_journal(remove_dirs=False)
        return created

    def _marker(self, kind, path):
        where = self._at(kind, path)
        if kind == 'dirs':
            where = os.path.join(where, '.created')
        self._mkdirs(os.path.dirname(where))
        if not os.path.exists(where):
            _new_file(where, b'', 0o600)

    def keep_original(self, path, user_owned=False):
        """Record ``path`` (a real target, not a link) once, before it first changes. ``user_owned``: a
        user's own file (``_pin/userbin``); its copy keeps that owner, inside root's 0700 record."""
        if self.recorded(path):
            return False
        if not os.path.lexists(path):
            self._marker('absent', path)
            return True
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            raise RecordError('%s is not a regular file; nothing was changed' % path)
        dest = self._at('orig', path)
        self._mkdirs(os.path.dirname(dest))
        # bytes, owner, group, mode and xattrs
        _safefile.copy_file(path, dest, allow_user_owned=user_owned, max_size=FILE_LIMIT)
        return True

    def keep_packages(self, packages):
        """Package versions and holds before the first pin (``packages.json``), once."""
        dest = os.path.join(self.state_dir, 'packages.json')
        if not os.path.exists(dest):
            _new_file(dest, (json.dumps(packages, indent=2, sort_keys=True) + '\n').encode('utf-8'), 0o600)

    def _json(self, name):
        path = os.path.join(self.state_dir, name)
        if not os.path.isfile(path):
            return None
        try:
            return json.loads(_safefile.read_file(path, FILE_LIMIT).decode('utf-8'))
        except ValueError as exc:
            raise RecordError('%s is not JSON: %s' % (path, exc))

    def packages(self):
        """packages.json as data (with ``installed_by_pin``: the packages the pin itself installed), or None."""
        data = self._json('packages.json')
        installed = self._json('installed.json')
        if not isinstance(data, dict) and not installed:
            return None
        data = dict(data) if isinstance(data, dict) else {}
        data['installed_by_pin'] = [n for n in installed or [] if isinstance(n, str)]
        return data

    def keep_installed(self, names):
        """Add ``names`` (packages the pin installed, e.g. dnf4's versionlock plugin) to installed.json;
        unpin removes exactly those. Returns the names that were new."""
        known = self._json('installed.json') or []
        new = [n for n in names if n not in known]
        if new:
            _new_file(os.path.join(self.state_dir, 'installed.json'),
                      (json.dumps(known + new) + '\n').encode('utf-8'), 0o600)
        return new

    def make_parents(self, path):
        """Create the missing directories above ``path`` (root:root 0755), each recorded first."""
        made = []
        for parent in missing_parents(path):
            self._marker('dirs', parent)
            _mkdir(parent, 0o755)
            made.append(parent)
        return made

    # ------------------------------------------------------------------ the undo
    def plan_restore(self):
        """What ``restore`` does: (restores, removals, directories), each sorted."""
        restores, removals, dirs = [], [], []
        for kind, out in (('orig', restores), ('absent', removals)):
            top = os.path.join(self.state_dir, kind)
            for root, dummy, files in os.walk(top):
                for name in files:
                    if not _files.is_scratch(name):  # a killed run's half-written record
                        out.append('/' + os.path.relpath(os.path.join(root, name), top))
        top = os.path.join(self.state_dir, 'dirs')
        for root, dummy, files in os.walk(top):
            if '.created' in files:
                dirs.append('/' + os.path.relpath(root, top))
        return sorted(restores), sorted(removals), sorted(dirs, key=lambda d: (-d.count('/'), d))

    def user_owned(self, path):
        """The recorded original of ``path`` is a user's own file (its copy is not root's): its uid, or None."""
        try:
            st = os.lstat(self._at('orig', path))
        except OSError:
            return None
        return st.st_uid if st.st_uid != 0 and self.owner_kept() else None

    def clean_scratch(self, paths, user_paths=()):
        """Remove what a killed run left beside ``paths`` and the record's files (each under its lock).
        Beside a user's own file (``user_paths``, and recorded originals that are a user's) no lock file
        is made: the caller holds the record's lock, and nothing in a home may become root's."""
        removed = []
        restores, removals, dummy = self.plan_restore()
        users = set(user_paths) | set(p for p in restores if self.user_owned(p) is not None)
        for path in sorted(users):
            removed += userbin.clean_beside(path)
        for path in sorted(set(paths) | set(real_target(p) for p in restores + removals)):
            if path in users or not os.path.isdir(os.path.dirname(path)):
                continue
            sdir, name = _safefile.SafeDir.for_file(path, must_exist=False, action='clean up beside')
            with sdir:
                lock = sdir.lock(name, 30)
                try:
                    removed += [sdir.join(n) for n in sdir.remove_stale_scratch(name)]
                finally:
                    lock.release()
        return removed

    def fingerprint(self):
        """sha256 over the record and the current state of every file it names: it changes whenever a
        pin (or a half-done pin) changed or recorded anything."""
        import hashlib
        digest = hashlib.sha256()
        if not self.exists():
            return digest.hexdigest()
        restores, removals, dirs = self.plan_restore()
        for kind, paths in (('orig', restores), ('absent', removals), ('dirs', dirs)):
            for path in paths:
                digest.update(('%s %s\n' % (kind, path)).encode('utf-8', 'surrogateescape'))
                target = real_target(path)
                if kind != 'dirs' and os.path.isfile(target):
                    st = os.stat(target)
                    digest.update(('%d:%d:%o\n' % (st.st_uid, st.st_gid, st.st_mode)).encode('ascii'))
                    digest.update(hashlib.sha256(_safefile.read_file(target, FILE_LIMIT)).digest())
                elif kind == 'dirs':
                    digest.update(b'dir\n' if os.path.isdir(target) else b'none\n')
        packages = os.path.join(self.state_dir, 'packages.json')
        if os.path.isfile(packages):
            digest.update(_safefile.read_file(packages, FILE_LIMIT))
        return digest.hexdigest()

    def restore(self, check=False):
        """Put every recorded original back, remove what did not exist, remove created directories
        that are empty, then forget the record. Returns what was (or would be) done."""
        restores, removals, dirs = self.plan_restore()
        done = {'restored': [], 'removed': [], 'dirs_removed': [], 'dirs_kept': []}
        owner_kept = self.owner_kept()
        for path in restores:
            saved = self._at('orig', path)
            target = path  # as recorded: _safefile follows root's own links only, never a user's
            data = _safefile.read_file(saved, FILE_LIMIT)
            st = os.lstat(saved)
            if not owner_kept and os.path.exists(target):
                # an older record: its copy is root's; the file keeps the owner it has now
                cur = os.stat(target)
                st = os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, cur.st_uid, cur.st_gid)
                                    + tuple(st)[6:])
            current = read_file(target) if os.path.exists(target) else None
            if current == data and os.path.exists(target) and _same_attrs(os.stat(target), st):
                continue
            done['restored'].append(path)
            if check:
                continue
            if owner_kept and st.st_uid != 0:  # a user's own runc upgraded in place: back as that user's file
                userbin.replace(path, data, st.st_uid, attrs=_attrs(like=(st, saved)))
            else:
                _new_file(target, data, like=(st, saved))  # st: the recorded owner (or today's, older records)
        for path in removals:
            if os.path.lexists(path):
                done['removed'].append(path)
                if not check:
                    _safefile.remove_file(path)
        state = self.state_dir.rstrip('/') + '/'
        done['state_parents'] = [d for d in dirs if state.startswith(d.rstrip('/') + '/')]
        for path in dirs:
            if path in done['state_parents'] or not os.path.isdir(path) or os.path.islink(path):
                continue
            if check:
                done['dirs_removed'].append(path)
                continue
            try:
                os.rmdir(path)
                done['dirs_removed'].append(path)
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                done['dirs_kept'].append(path)
        return done

    def forget(self):
        """Remove the record (call after ``restore``)."""
        if os.path.isdir(self.state_dir):
            shutil.rmtree(self.state_dir)


def _same_attrs(a, b):
    return (a.st_uid, a.st_gid, stat.S_IMODE(a.st_mode)) == (b.st_uid, b.st_gid, stat.S_IMODE(b.st_mode))
