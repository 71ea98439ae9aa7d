# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does a runtime build hit a hazard: the build-decided verdicts the hazard rules use.

Releases are decided by their number, runc development builds of the fcntl-hang era by their
commit (``_runc_commits``, generated from runc's history). Each function answers True, False or
'unknown' (with a ``why`` clause for messages where a finding needs one). Pure stdlib, no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from bisect import bisect_left
from functools import lru_cache

from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _advisories
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.engines import RUNTIME_NAMES
from ansible_collections.runcguard.seccomp.plugins.module_utils._hazard_versions import (
    CRUN_SENDMSG_FIXED,
    FCNTL_HANG_DEV_ALWAYS,
    FCNTL_HANG_DEV_BASES,
    FCNTL_HANG_RELEASES,
    LIBSECCOMP_NOTIFY_SINCE,
    RUNC_NOTIFY_SINCE,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import (
    commit_hash,
    compare_versions,
    normalise_version,
)
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _runc_commits


@lru_cache(maxsize=1)
def _commit_table():
    """(sorted 12-hex commits, their verdicts) from the generated table."""
    width, rows = _runc_commits.PREFIX, []
    for text, affected in ((_runc_commits.AFFECTED, True), (_runc_commits.NOT_AFFECTED, False)):
        rows.extend((text[i:i + width], affected) for i in range(0, len(text), width))
    rows.sort()
    return [r[0] for r in rows], [r[1] for r in rows]


def runc_commit_matches(prefix):
    """[(12-hex commit, affected)] of the table's runc commits that start with ``prefix`` (hex)."""
    commits, verdicts = _commit_table()
    prefix = prefix[:_runc_commits.PREFIX]
    out, index = [], bisect_left(commits, prefix)
    while index < len(commits) and commits[index].startswith(prefix):
        out.append((commits[index], verdicts[index]))
        index += 1
    return out


_BUG = (_runc_commits.REGRESSION, _runc_commits.REVERT)
_HAS_BUG = 'has runc commit %s (the fcntl hang) and not its revert %s' % _BUG
_NO_BUG = 'lacks runc commit %s (the fcntl hang) or has its revert %s' % _BUG


def fcntl_hang_verdict(runtime):
    """(True, False or 'unknown', why) for one runc runtime entry; ``why`` is a clause for messages.

    Releases are decided by their number. A development build is decided by its commit when that
    commit (7+ hex digits, one match) is in the table of runc's history; a ``-dirty`` build of a
    safe commit stays unknown (its local changes are not known). Without a readable commit a
    1.2.0-rc.1+dev build is affected (every such commit is), other dev builds of the affected era
    are unknown. A build without a version number (Go build info ``(devel)``: version None, dev,
    commit from ``vcs.revision``) is decided by its commit alone.
    """
    version = runtime.get('version')
    if runtime.get('error'):
        return 'unknown', 'has no readable version'
    # A Go "(devel)" build read from its build information has no number, only vcs.revision.
    unnumbered = not version and bool(runtime.get('dev')) and bool(runtime.get('commit'))
    dev = True
    if not unnumbered:
        version, dev = normalise_version(version) if version else (None, False)
        dev = dev or bool(runtime.get('dev'))
        if not version:
            return 'unknown', 'has no readable version'
    if not dev:
        if version in FCNTL_HANG_RELEASES:
            return True, 'is release %s, which %s' % (version, _HAS_BUG)
        return False, 'is release %s' % version
    commit, dirty = commit_hash(runtime.get('commit'))
    built = ' (built -dirty, with local changes)' if dirty else ''
    matches = runc_commit_matches(commit) if commit else []
    if len(matches) == 1:
        if matches[0][1]:
            return True, 'is a development build of commit %s%s, which %s' % (commit, built, _HAS_BUG)
        if dirty:
            return 'unknown', ('is a development build of commit %s, which %s, but it was built -dirty (with local '
                               'changes)' % (commit, _NO_BUG))
        return False, 'is a development build of commit %s, which %s' % (commit, _NO_BUG)
    if unnumbered:
        if len(matches) > 1:
            return 'unknown', ('is a development build of commit %s, which is too short to name one runc commit '
                               '(%d match)' % (commit, len(matches)))
        return 'unknown', ('is a development build (no version number) of commit %s, which is not in runc\'s '
                           'history of the fcntl-hang era as this collection knows it' % commit)
    if version not in FCNTL_HANG_DEV_BASES:
        return False, ('is a development build of %s, outside the 1.1.0+dev .. 1.2.0-rc.2+dev line that carried '
                       'the regression' % version)
    if len(matches) > 1:
        return 'unknown', ('is a development build of commit %s, which is too short to name one runc commit (%d '
                           'match)' % (commit, len(matches)))
    if commit:
        return 'unknown', ('is a development build of commit %s, which is not in runc\'s history as this collection '
                           'knows it (a fork or vendor build)' % commit)
    if version == FCNTL_HANG_DEV_ALWAYS:
        return True, ('is a %s development build with no readable commit, and every such runc commit %s'
                      % (version, _HAS_BUG))
    return 'unknown', 'is a development build with no readable commit'


def fcntl_hang_affected(runtime):
    """True, False or 'unknown' for one runc runtime entry (fcntl_hang_verdict without the why)."""
    return fcntl_hang_verdict(runtime)[0]


def version_at_least(runtime, floor):
    """True, False or 'unknown' for the runtime entry's version >= floor."""
    version = runtime.get('version')
    if not version or runtime.get('error'):
        return 'unknown'
    return compare_versions(version, floor) >= 0


@lru_cache(maxsize=256)
def kernel_at_least(kernel, floor):
    if not kernel:
        return 'unknown'
    digits = []
    for part in str(kernel).replace('-', '.').split('.')[:2]:
        if not part.isdigit():
            return 'unknown'
        digits.append(int(part))
    return tuple(digits) >= floor if len(digits) == 2 else 'unknown'


def runtime_kind(runtime):
    """runc or crun: what the binary said, else its file name (a hung binary says nothing)."""
    if runtime.get('name') in RUNTIME_NAMES:
        return runtime['name']
    base = str(runtime.get('path') or '').rsplit('/', 1)[-1]
    return 'crun' if 'crun' in base else 'runc' if 'runc' in base else None


def _negate(verdict):
    return (not verdict) if isinstance(verdict, bool) else verdict


# --- one verdict per build-decided hazard: (True, False or 'unknown', why) -----------------------
def fcntl_hang(runtime, host_libseccomp=None):
    """runc that hangs with fcntl under NOTIFY (crun never does)."""
    if runtime_kind(runtime) != 'runc':
        return False, 'is not runc'
    return fcntl_hang_verdict(runtime)


def write_rejected(runtime, host_libseccomp=None):
    """Every runc refuses NOTIFY on write (those without NOTIFY refuse it anyway); crun does not."""
    if runtime_kind(runtime) != 'runc':
        return False, 'is not runc'
    return True, 'refuses SCMP_ACT_NOTIFY on write, as every runc does'


def crun_sendmsg_hang(runtime, host_libseccomp=None):
    """crun before 1.6 hangs with sendmsg under NOTIFY."""
    if runtime_kind(runtime) != 'crun':
        return False, 'is not crun'
    verdict = _negate(version_at_least(runtime, CRUN_SENDMSG_FIXED))
    return verdict, 'its version is unknown' if verdict == 'unknown' else 'is crun %s' % runtime.get('version')


def libseccomp_too_old(runtime, host_libseccomp=None):
    """The libseccomp the runtime uses (its own, else the host's) predates SCMP_ACT_NOTIFY."""
    version = runtime.get('libseccomp') or host_libseccomp
    return bool(version) and compare_versions(version, LIBSECCOMP_NOTIFY_SINCE) < 0


def notify_unsupported(runtime, host_libseccomp=None):
    """No SCMP_ACT_NOTIFY in this build: libseccomp < 2.5.0, or runc < 1.1.0."""
    if libseccomp_too_old(runtime, host_libseccomp):
        return True, 'is linked with libseccomp %s' % (runtime.get('libseccomp') or host_libseccomp)
    if runtime_kind(runtime) != 'runc':
        return False, 'is not runc'
    verdict = _negate(version_at_least(runtime, RUNC_NOTIFY_SINCE))
    return verdict, 'predates SCMP_ACT_NOTIFY support (runc %s)' % RUNC_NOTIFY_SINCE


def runc_advisory(runtime, host_libseccomp=None):
    """A runc build with open runc security advisories (plugin_utils._advisories); crun has none of them."""
    if runtime_kind(runtime) != 'runc':
        return False, 'is not runc'
    state = _advisories.runtime_advisories(runtime, 'runc')
    if not state['covered']:
        return 'unknown', state['note']
    if state['open']:
        return True, 'carries %d open runc security advisories' % len(state['open'])
    if state['unknown']:
        return 'unknown', 'may carry %d runc security advisories (a development build)' % len(state['unknown'])
    return False, 'carries no open runc security advisory'
