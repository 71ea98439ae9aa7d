# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one way the collection touches files as root, and root's policy towards users' files.

Root must not be steerable by a user. A path string used twice is a race a user wins: between two
uses, whoever may write a directory on the path swaps it for a symlink, and root's next write lands
wherever the user pointed it. So every file operation here works relative to a directory descriptor
opened once, without following anyone's links:

- ``SafeDir.open(path)`` resolves ``path`` one component at a time (``openat`` with ``O_NOFOLLOW``,
  checking each step), following a symlink only where no user could have put it (a root-owned link
  in a directory only root can change), then opens the directory with ``openat2(RESOLVE_NO_SYMLINKS)``
  where the kernel has it and checks it is the directory the walk reached.
- ``read`` opens with ``O_NOFOLLOW`` (a regular file, bounded), ``lock`` creates its lock file with
  ``O_EXCL`` and takes an existing one only when it is ours (our uid, one link, a regular file),
  ``write`` creates the scratch file, the backup and the rename relative to the descriptor, never wider
  than the file it replaces, with its owner, group, mode and xattrs (ACLs, SELinux label), and checks
  that the name still is the inode that was read before renaming over it.

Policy, decided from the same walk (``Walk.controller``): a path is *user controlled* when the file,
any directory above it or a symlink on the way is owned by a non-root user, or writable by one (group
or other write bits without a sticky bit, a POSIX ACL entry granting write). Root does not rewrite
such a path unless the caller allows it (``allow_user_owned``; the owner is then kept), never follows
a user's symlink for a write, never reads through a user's link into a file that user could not read
(``check_read``), reads a file for a user (``open_for_read(as_user=)``, the rootless scan) only when
that user could read it themselves (every directory from ``/`` searchable, the file readable, by
their uid and groups), opens nothing but a regular file for reading (``open_regular_at``: ``O_PATH``,
checked, then reopened), and never executes a file a user controls (``may_execute``).

Pure stdlib, Python 3.9+, Linux semantics (``O_PATH``, ``openat2``); elsewhere the per-component walk.

The package's modules, in the order a write uses them: ``control`` (who controls a file, open flags,
openat2), ``walk`` (the lookup and ``LinkPolicy``), ``dirlock`` (``Attributes``, ``DirLock``),
``safedir`` (``SafeDir``), ``by_path`` (``write_file``, ``read_file``, ...), ``policy``
(``may_execute``, ``check_read``, ``user_control``). Callers import from the package.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.by_path import (
    copy_file, lock_file, open_for_read, read_file, remove_file, restore_backup, write_file,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.control import (
    UserControlled, as_user, control_of, user_name,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.dirlock import Attributes, DirLock
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.policy import (
    check_read, may_execute, open_executable, user_control,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.safedir import SafeDir
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.walk import (
    LinkPolicy, Walk, link_policy, open_regular_at, walk,
)

__all__ = [
    'Attributes', 'DirLock', 'LinkPolicy', 'SafeDir', 'UserControlled', 'Walk', 'as_user', 'check_read', 'control_of',
    'copy_file', 'link_policy', 'lock_file', 'may_execute', 'open_executable', 'open_for_read', 'open_regular_at',
    'read_file', 'remove_file', 'restore_backup',
    'user_control', 'user_name', 'walk', 'write_file',
]
