# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find and unpack the real runtime builds that tests use (test tooling, not part of the collection).

The builds live in `shared/runc-builds/` and `shared/crun-builds/` beside the repository: CI puts
`shared/` next to its clone; a git worktree looks beside its main checkout. A user's clone of the
collection has none, and the tests that need them skip (host tests) or are skipped by
scripts/test.sh (Molecule scenarios whose molecule.yml says `# requires-shared: <folder>`).
With RCG_REQUIRE_SHARED=1 (`.ci/run` sets it) an absent shared/ or build is a failure instead, in
every suite: `required()` says so.

  python scripts/shared_builds.py path FOLDER         print shared/FOLDER (exit 3 and why when absent)
  python scripts/shared_builds.py unpack FOLDER DEST  unpack every build of FOLDER into DEST, sha256
                                                      verified by its unpack.sh (exit 3 when absent)
"""

from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ABSENT = 3
# ansible-test passes no environment through to unit tests: scripts/test.sh leaves this file beside
# its staged copy (where shared/ is linked too) when RCG_REQUIRE_SHARED=1.
REQUIRE_MARKER = '.rcg-require-shared'


def shared_dir(root=ROOT):
    """<repo>/../shared, or beside the main checkout when <repo> is a git worktree."""
    candidates = [os.path.join(os.path.dirname(root), 'shared')]
    dot_git = os.path.join(root, '.git')
    if os.path.isfile(dot_git):  # worktree: "gitdir: <main>/.git/worktrees/<name>"
        with open(dot_git) as handle:
            gitdir = handle.read().partition('gitdir:')[2].strip()
        main = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(gitdir))))
        candidates.append(os.path.join(os.path.dirname(main), 'shared'))
    for candidate in candidates:
        if os.path.isdir(candidate):
            return candidate
    return candidates[0]


def required(root=ROOT):
    """True when an absent shared/ or build must fail a test, not skip it (CI)."""
    return (os.environ.get('RCG_REQUIRE_SHARED') == '1'
            or os.path.isfile(os.path.join(os.path.dirname(root), REQUIRE_MARKER)))


def builds_dir(folder):
    """shared/<folder>, or None when it has no unpack.sh (absent)."""
    path = os.path.join(shared_dir(), folder)
    return path if os.path.isfile(os.path.join(path, 'unpack.sh')) else None


def absent_reason(folder):
    return ('real runtime builds not found at %s (shared/ beside the repository: CI has it, '
            'a clone of the collection does not)' % os.path.join(shared_dir(), folder))


def unpack(folder, dest):
    """{binary name: path} in dest; raises RuntimeError when unpacking or a checksum fails."""
    path = builds_dir(folder)
    if path is None:
        raise LookupError(absent_reason(folder))
    proc = subprocess.run(['sh', os.path.join(path, 'unpack.sh'), dest], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError('unpack/sha256 check of %s failed: %s' % (path, proc.stdout.decode()[-2000:]))
    return dict((name, os.path.join(dest, name)) for name in sorted(os.listdir(dest))
                if os.access(os.path.join(dest, name), os.X_OK) and not name.endswith('.tmp'))


def main(argv):
    if len(argv) < 2 or argv[0] not in ('path', 'unpack') or (argv[0] == 'unpack') != (len(argv) == 3):
        sys.stderr.write(__doc__)
        return 2
    folder = argv[1]
    try:
        if argv[0] == 'path':
            if builds_dir(folder) is None:
                raise LookupError(absent_reason(folder))
            print(builds_dir(folder))
        else:
            unpack(folder, argv[2])
            print(argv[2])
    except LookupError as exc:
        sys.stderr.write('%s\n' % exc.args[0])
        return ABSENT
    except RuntimeError as exc:
        sys.stderr.write('%s\n' % exc)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
