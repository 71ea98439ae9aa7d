# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Root's policy towards users' files: never execute what a user controls, never read through a user's
link into what that user could not read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.control import UserControlled, _kind, _readable_by, _who
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.walk import walk


def may_execute(path):
    """(True, None) when root may execute ``path``; else (False, reason).

    Refused: the file, a directory above it or a symlink on the way owned by a non-root user or
    writable by one (the user could put any code there); not a regular file; not executable.
    """
    try:
        w = walk(path, 'read')
    except FileProblem as exc:
        return False, exc.message
    try:
        if w.final is None:
            return False, 'does not exist'
        if w.controller:
            return False, ('%s is %s; root never executes a file a non-root user owns or can change, nor one in '
                           'a directory such a user can change' % w.controller)
        if not stat.S_ISREG(w.final.st_mode):
            return False, 'is %s, not a regular file' % _kind(w.final)
        if not w.final.st_mode & 0o111:
            return False, 'not executable'
        return True, None
    finally:
        w.close()


def check_read(path):
    """None when root may read ``path`` for discovery, else the reason (a text that reveals nothing of
    where a user's link leads)."""
    try:
        w = walk(path, 'read')
    except UserControlled as exc:
        return exc.message
    except FileProblem:
        return None  # ordinary trouble: the reader reports it in its own words
    try:
        if w.final is not None and w.user is not None and w.final.st_nlink > 1 and \
                not _readable_by(w.final, w.user, False):
            return ('%s: a hard link in a directory %s to a file that user cannot read; root does not read it '
                    'for them' % (path, _who(w.user)))
        return None
    finally:
        w.close()


def user_control(path):
    """(path, text) of the first thing on ``path`` a non-root user owns or can change, or None."""
    w = walk(path, 'read')
    try:
        return w.controller
    finally:
        w.close()
