# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The journal of the directories ``Record.open`` makes for a state directory, and their removal.

The parents of a new state directory are written to a journal beside the outermost of them before any
is created, so a run killed in between leaves a journal that unpin follows, never a directory nobody
knows about. The journal's name is predictable and may sit in a shared sticky directory (``/tmp``):
only a journal root wrote counts (a regular root-owned file, mode 0600, one link), only the state
directory and its own ancestors below the journal's directory are taken from it, and every directory
is removed relative to its parent opened without following anyone's links. Pure stdlib, Python 3.9+.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils import _files, _safefile


class Journal(object):
    """Mixin of ``Record`` (needs ``self.state_dir``): the parents' journal and directory removal."""

    @staticmethod
    def remove_dirs(dirs, check=False):
        """rmdir each of ``dirs`` (deepest first) that is an empty directory of root's; returns those removed.

        Each is removed relative to its parent opened without following anyone's links, and never in a
        directory a user controls (a user's link or directory at the name is left alone)."""
        removed = []
        for parent in sorted(set(dirs), key=lambda d: (-d.count('/'), d)):
            if not parent.startswith('/') or parent == '/' or os.path.normpath(parent) != parent:
                continue
            try:
                sdir = _safefile.SafeDir.open(os.path.dirname(parent))
            except _files.FileProblem:
                continue  # gone, or in a directory a user controls: root removes nothing there
            with sdir:
                name = os.path.basename(parent)
                st = sdir.lstat(name)
                if st is None or not stat.S_ISDIR(st.st_mode) or st.st_uid not in (0, os.geteuid()):
                    continue
                if check:
                    removed.append(parent)
                    continue
                try:
                    os.rmdir(name, dir_fd=sdir.fd)
                    removed.append(parent)
                except OSError:
                    pass
        return removed

    # ------------------------------------------------------------------ the parents' journal (open)
    def _journal_name(self):
        import hashlib
        return '.runc_pin-parents.%s.runcguard-journal' % hashlib.sha256(
            self.state_dir.encode('utf-8', 'surrogateescape')).hexdigest()[:16]

    def _journal_dirs(self):
        """Existing directories above the state directory, where a journal of it may be (innermost first)."""
        out, here = [], os.path.dirname(self.state_dir)
        while True:
            if os.path.isdir(here) and not os.path.islink(here):
                out.append(here)
            if here in ('/', ''):
                return out
            here = os.path.dirname(here)

    def journal(self, parents):
        """Write ``parents`` (directories made for the state directory) to the journal beside the outermost,
        before they are created (``open``) or before the record of them goes (``forget``)."""
        self._write_journal(parents)

    def _write_journal(self, parents):
        if not parents:
            return
        name = self._journal_name()
        outermost = min(parents, key=lambda d: (d.count('/'), d))
        with _safefile.SafeDir.open(os.path.dirname(outermost)) as sdir:
            sdir.remove_stale_scratch(name)
            known = self._read_journal(sdir, name, os.path.dirname(outermost))
            data = (json.dumps(sorted(set(known) | set(parents))) + '\n').encode('utf-8')
            sdir.unlink(name)
            sdir.write(name, data, attrs=_safefile.Attributes(0, 0, 0o600), exists=False)

    def _read_journal(self, sdir, name, top):
        """The directories the journal ``name`` in ``sdir`` (directory ``top``) lists that may be this state
        directory's own parents (the state directory and its ancestors below ``top``). Only a journal root wrote counts: a
        regular file of root's, mode 0600, one link; anything else (a user's file in a sticky ``/tmp``) is []."""
        if not _journal_ok(sdir.lstat(name)):
            return []
        try:
            with sdir.open_read(name) as handle:
                if not _journal_ok(os.fstat(handle.fileno())):
                    return []
                data = json.loads(handle.read(1 << 16).decode('utf-8'))
        except _files.FileProblem:
            return []  # replaced meanwhile by what is not a file
        except (ValueError, UnicodeDecodeError):
            return []  # half written by a killed run: nothing was created after it
        if not isinstance(data, list):
            return []
        below, state = top.rstrip('/') + '/', self.state_dir + '/'
        return [d for d in data if isinstance(d, str) and d.startswith(below) and os.path.normpath(d) == d
                and state.startswith(d + '/')]

    def _journals(self):
        """(directory, SafeDir (close it)) of each directory above the state directory that may hold its journal."""
        out = []
        for here in self._journal_dirs():
            try:
                out.append((here, _safefile.SafeDir.open(here)))
            except _files.FileProblem:
                continue  # a directory a user controls: _write_journal never writes there
        return out, self._journal_name()

    def journal_parents(self):
        """Directories a killed ``open`` may have created (from its journal), or []."""
        sdirs, name = self._journals()
        found = []
        for here, sdir in sdirs:
            with sdir:
                found += self._read_journal(sdir, name, here)
        return sorted(set(found))

    def clean_journal(self, remove_dirs=True, check=False):
        """Remove the journal of a killed ``open`` (and its half-written copies); with ``remove_dirs``, first
        the directories it names that are empty (deepest first). Returns (journal found, directories removed)."""
        parents = self.journal_parents()
        removed = self.remove_dirs(parents, check=check) if remove_dirs else []
        sdirs, name = self._journals()
        found = bool(parents)
        for dummy, sdir in sdirs:
            with sdir:
                st = sdir.lstat(name)
                if not _journal_ok(st):
                    continue  # not root's journal (a user's file of that name is the user's business)
                if check:
                    found = True
                    continue
                found = bool(sdir.remove_stale_scratch(name)) or found
                found = sdir.unlink(name, expect=st) or found
        return found, removed


def _journal_ok(st):
    """Is ``st`` (lstat) a parents' journal root wrote: a regular file of root's (or of the user running
    this), mode 0600 at most, one link?"""
    return (st is not None and stat.S_ISREG(st.st_mode) and st.st_uid in (0, os.geteuid())
            and not st.st_mode & 0o077 and st.st_nlink == 1)
