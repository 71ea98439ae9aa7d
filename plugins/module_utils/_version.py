# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse ``runc --version`` / ``crun --version`` output and order runtime versions.

Private to the collection. Pure stdlib, Python 3.9+; used on targets (runtime_facts) and on the
controller (filters), so both always agree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from functools import lru_cache

RAW_LIMIT = 2048
# Real output is a few short lines; bounding what the regular expressions see keeps a hostile
# binary's 64 KiB line from costing seconds of CPU (the field pattern is quadratic on long lines).
PARSE_LINES = 40
LINE_LIMIT = 256

_FIRST_LINE = re.compile(r'^\s*(runc|crun)\s+version\s+(\S+)', re.IGNORECASE)
_FIELD = re.compile(r'^\s*([A-Za-z][A-Za-z0-9 _-]*?)\s*:\s*(.*?)\s*$')
# git describe: v1.1.13-0-g58aa9203c, v1.2.0-rc.2-15-gabc123 (optionally -dirty)
_DESCRIBE = re.compile(r'^v?(\d+\.\d+\.\d+(?:-rc\.?\d+)?)-(\d+)-g([0-9a-f]{4,40})(-dirty)?$')
# A bare commit hash (k3s: "7d07dac"); 7 hex digits is git's shortest default abbreviation.
_BARE_HASH = re.compile(r'^([0-9a-fA-F]{7,40})(-dirty)?$')
_PLAIN_TAG = re.compile(r'^v(\d+\.\d+\.\d+(?:-rc\.?\d+)?)$')
# Core of a version: 1.2.0, 1.2.0-rc.2, 1.2.0-rc2, 1.2.0~rc2, 1.2.0~rc.2, crun's "1.5" / "1.8.1"
_CORE = re.compile(r'^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-~]rc\.?(\d+))?')


@lru_cache(maxsize=512)
def normalise_version(text):
    """Return (normalised version, dev flag) for one version token, or (None, False).

    ``1.1.5+ds1`` -> ``1.1.5`` (Debian repack suffix is not a dev build);
    ``1.2.0~rc2+ds1`` -> ``1.2.0-rc.2``; ``1.2.0-rc.1+dev`` -> ``1.2.0-rc.1`` with dev=True.
    """
    if not text:
        return None, False
    token = text.strip()
    match = _CORE.match(token)
    if not match:
        return None, False
    major, minor, patch, rc = match.groups()
    version = '%s.%s.%s' % (major, minor, patch or '0')
    if rc is not None:
        version += '-rc.%s' % int(rc)
    rest = token[match.end():]
    dev = bool(re.search(r'(?:^|[+~.-])dev\b', rest))
    return version, dev


# Go pseudo-versions (https://go.dev/ref/mod#pseudo-versions) as the Go vulnerability database writes
# them: vX.Y.Z-0.TIME-HASH (a commit after the release before X.Y.Z) and vX.Y.Z-PRE.0.TIME-HASH (a
# commit after the pre-release PRE).
_PSEUDO_KEY = re.compile(r'^v?(\d+)\.(\d+)\.(\d+)-(?:rc\.?(\d+)\.|)0\.(\d{14})-([0-9a-f]{12})$')
FINAL = 1 << 30  # the pre-release slot of a final release: above every rc number
_BEFORE_RC = -1  # the pre-release slot of a vX.Y.Z-0.TIME pseudo-version: before every rc of X.Y.Z


@lru_cache(maxsize=1024)
def version_key(version):
    """Sortable key (major, minor, patch, pre-release slot, after-tag) in runc's real release order.

    A release candidate sorts before its final release and rc numbers compare as numbers
    (``1.0.0-rc10`` after ``rc9``, before ``rc90``/``rc91``: the order runc tagged them, not
    SemVer's, which puts ``rc10`` before ``rc2``). A Go pseudo-version sorts just after the
    release it is based on (``1.0.0-rc9.0.20200122160610-2fc03cc11c77`` after ``rc9``, before
    ``rc10``; ``1.0.1-0.2021...`` after 1.0.0, before 1.0.1 and its candidates), ordered by its
    commit time. A ``+dev`` build sorts just after its tag. Key[3] == FINAL means a final release
    (dev or not); None or text that is no version sorts first.
    """
    if not version:
        return (-1, -1, -1, -1, -1)
    token = str(version).strip()
    pseudo = _PSEUDO_KEY.match(token)
    if pseudo:
        major, minor, patch, rc, stamp = pseudo.group(1, 2, 3, 4, 5)
        return (int(major), int(minor), int(patch), int(rc) if rc is not None else _BEFORE_RC, int(stamp))
    match = _CORE.match(token)
    if not match:
        return (-1, -1, -1, -1, -1)
    major, minor, patch, rc = match.groups()
    dev = bool(re.search(r'(?:^|[+~.-])dev\b', token[match.end():]))
    return (int(major), int(minor), int(patch or 0), int(rc) if rc is not None else FINAL, 1 if dev else 0)


def compare_versions(left, right):
    """-1, 0 or 1, like cmp() on version_key."""
    a, b = version_key(left), version_key(right)
    return (a > b) - (a < b)


def is_final(version):
    """A final release (not a candidate, not a pseudo-version); a +dev build of one counts as final."""
    key = version_key(version)
    return key[0] >= 0 and key[3] == FINAL


def release_line(version):
    """'1.2' for 1.2.0-rc.1, 1.2.9, 1.2.0+dev; None when there is no version."""
    key = version_key(version)
    return '%d.%d' % key[:2] if key[0] >= 0 else None


def describe_commit(commit):
    """Read a ``commit:`` value written by ``git describe``.

    Returns {'tag': '1.1.13', 'distance': 0, 'hash': '58aa9203c', 'dirty': False} or None when the
    commit is not a describe string (k3s writes a short hash, Debian writes its package version).
    """
    if not commit:
        return None
    token = commit.strip()
    match = _DESCRIBE.match(token)
    if match:
        tag = normalise_version(match.group(1))[0]
        return {'tag': tag, 'distance': int(match.group(2)), 'hash': match.group(3), 'dirty': bool(match.group(4))}
    match = _PLAIN_TAG.match(token)
    if match:
        return {'tag': normalise_version(match.group(1))[0], 'distance': 0, 'hash': None, 'dirty': False}
    return None


def commit_hash(commit):
    """(hash, dirty) from a ``commit:`` value: the ``g<hex>`` of a git describe string or a bare hash.

    The hash is lower case and at least 7 hex digits, else None (a tag without distance, Debian's
    package version, an abbreviation too short to name one commit). ``dirty``: built from a
    modified work tree (``-dirty`` suffix).
    """
    if not isinstance(commit, str) or not commit.strip():
        return None, False
    token = commit.strip()
    described = describe_commit(token)
    if described:
        found = described['hash'] if described['hash'] and len(described['hash']) >= 7 else None
        return found, described['dirty']
    match = _BARE_HASH.match(token)
    if match:
        return match.group(1).lower(), bool(match.group(2))
    return None, token.endswith('-dirty')


def _empty(raw):
    return {
        'name': None, 'version': None, 'version_source': None, 'dev': False,
        'first_line_version': None, 'commit': None, 'spec': None, 'go': None,
        'libseccomp': None, 'raw': raw, 'error': None,
    }


def parse_runtime_version(text):
    """Parse the ``--version`` output of runc or crun into the facts' runtime fields.

    Never raises: unusable output gives ``error`` with a specific message.
    The version comes from the ``commit:`` line when it is an exact ``git describe`` tag that
    disagrees with the first line (containerd.io 1.7.18/1.7.19 print containerd's version for
    their bundled runc 1.1.13). A build past a tag (describe distance > 0) or a ``+dev`` version
    is flagged ``dev``: its fixes cannot be known from the number alone.
    """
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    if not isinstance(text, str):
        result = _empty(None)
        result['error'] = 'version output is not text'
        return result
    result = _empty(text[:RAW_LIMIT])
    if '\x00' in text[:RAW_LIMIT] or '\ufffd' in text[:RAW_LIMIT]:
        result['error'] = 'unparsable --version output: binary data'
        return result
    lines = [line[:LINE_LIMIT] for line in text[:PARSE_LINES * (LINE_LIMIT + 2)].splitlines()[:PARSE_LINES]]
    first = _FIRST_LINE.match(lines[0]) if lines else None
    if not first:
        shown = lines[0][:80] if lines else ''
        result['error'] = 'unparsable --version output: first line %r is not "runc|crun version X"' % shown
        return result
    result['name'] = first.group(1).lower()
    for line in lines[1:]:
        field = _FIELD.match(line)
        if not field:
            continue
        key, value = field.group(1).strip().lower(), field.group(2)
        if key in ('commit', 'spec', 'go', 'libseccomp') and result[key] is None:
            result[key] = value
    if result['go'] and result['go'].startswith('go'):
        result['go'] = result['go'][2:]

    first_version, first_dev = normalise_version(first.group(2))
    result['first_line_version'] = first_version
    described = describe_commit(result['commit']) if result['name'] == 'runc' else None
    if described:
        result['version'] = described['tag']
        result['version_source'] = 'commit'
        result['dev'] = described['distance'] > 0 or (first_dev and first_version == described['tag'])
    elif first_version:
        result['version'] = first_version
        result['version_source'] = 'first_line'
        result['dev'] = first_dev
    else:
        result['error'] = 'unparsable --version output: version %r not understood' % first.group(2)[:40]
    return result


def parse_features_json(data):
    """Version fields from ``runc features`` JSON (annotations), or {} when absent."""
    if not isinstance(data, dict):
        return {}
    notes = data.get('annotations')
    if not isinstance(notes, dict):
        return {}
    out = {}
    for key, field in (('org.opencontainers.runc.version', 'version'),
                       ('org.opencontainers.runc.commit', 'commit'),
                       ('io.github.seccomp.libseccomp.version', 'libseccomp')):
        value = notes.get(key)
        if isinstance(value, str) and value:
            out[field] = value
    return out


# --- Go build information (``_scan.buildinfo.read_build_info``) -> the same record ----------------
RUNC_MODULE = 'github.com/opencontainers/runc'
# Go pseudo-versions (go.dev/ref/mod#pseudo-versions): vX.0.0-TS-HASH (no tag before it),
# vX.Y.Z-pre.0.TS-HASH (after tag vX.Y.Z-pre), vX.Y.(Z+1)-0.TS-HASH (after release vX.Y.Z).
_PSEUDO = re.compile(r'^v(\d+)\.(\d+)\.(\d+)(?:-(.+?)\.0\.|-0\.|-)(\d{14})-([0-9a-f]{12})$')
_SEMVER_TAG = re.compile(r'^v\d+\.\d+\.\d+(?:-rc\.?\d+)?$')
# Release tags whose commits this collection knows (the real builds and version outputs in its test data:
# shared/runc-builds/README.md, shared/runc-version-outputs.md). A "(devel)" build (Go < 1.24 stamps no
# module version; upstream release binaries built before Go 1.24 are such builds) of exactly one of these
# commits, not modified, is that release.
RELEASE_COMMITS = (
    ('58aa9203c', '1.1.13'), ('275e6d85f', '1.2.0-rc.1'), ('f2d2ee5e4', '1.2.0-rc.2'), ('45471bc94', '1.2.0-rc.3'),
    ('0b9fa21be', '1.2.0'), ('491b69bab', '1.3.6'),
)


def _pseudo_base(major, minor, patch, pre):
    """The tag a pseudo-version was built after, or None (vX.0.0-TS-HASH has none)."""
    if pre is not None:
        return normalise_version('v%s.%s.%s-%s' % (major, minor, patch, pre))[0]
    if int(patch) > 0:
        return '%s.%s.%d' % (major, minor, int(patch) - 1)
    return None


def _module_version(version):
    """(version, dev, pseudo hash or None, dirty) from a Go main-module version string."""
    token = (version or '').strip()
    dirty = token.endswith('+dirty')
    token = token[:-len('+dirty')] if dirty else token
    token = token[:-len('+incompatible')] if token.endswith('+incompatible') else token
    if not token or token == '(devel)':
        return None, True, None, dirty
    if _SEMVER_TAG.match(token):
        return normalise_version(token)[0], False, None, dirty
    pseudo = _PSEUDO.match(token)
    if pseudo:
        major, minor, patch, pre, _stamp, short = pseudo.groups()
        timestamped_zero = pre is None and not re.match(r'^v\d+\.\d+\.\d+-0\.', token)
        base = None if timestamped_zero else _pseudo_base(major, minor, patch, pre)
        return base, True, short, dirty
    found, dev = normalise_version(token)
    return found, True if found is None else dev, None, dirty


def version_from_build_info(info):
    """The runtime record parse_runtime_version gives, from Go build information (never raises).

    ``info`` is ``_scan.buildinfo.read_build_info``'s result. The version comes from the main
    module's version (the ``mod`` line, stamped by ``go build`` since Go 1.24 and by ``go install``):
    a release tag is a release; a pseudo-version is a development build of the tag before it; a
    ``(devel)`` build (older toolchains) has no version and is a development build, unless its
    ``vcs.revision`` is a release tag's commit in RELEASE_COMMITS (then it is that release). ``commit`` is
    ``vcs.revision`` (``-dirty`` when ``vcs.modified`` is true), so a development build is decided by
    its commit as one from ``--version`` is. ``version_source`` is ``buildinfo``.
    """
    result = _empty(None)
    if not isinstance(info, dict):
        result['error'] = 'no build information'
        return result
    status = info.get('status')
    if status != 'found':
        result['error'] = 'build information: %s' % (info.get('reason') or 'not found')
        return result
    main = info.get('main') or {}
    settings = info.get('settings') if isinstance(info.get('settings'), dict) else {}
    module_path = main.get('path') or info.get('path') or ''
    go = info.get('go') or None
    revision = settings.get('vcs.revision') or None
    modified = settings.get('vcs.modified') == 'true'
    raw = ['%s' % (go or 'go?'), 'path %s' % (info.get('path') or '')]
    if main:
        raw.append('mod %s %s' % (main.get('path') or '', main.get('version') or ''))
    raw.extend('build %s=%s' % (key, settings[key]) for key in ('vcs.revision', 'vcs.modified') if key in settings)
    result['raw'] = '\n'.join(raw)[:RAW_LIMIT]
    result['go'] = go[2:] if go and go.startswith('go') else go
    if module_path == RUNC_MODULE or module_path.rsplit('/', 1)[-1] == 'runc':
        result['name'] = 'runc'
    else:
        result['error'] = 'Go build information names %s, not runc' % (module_path[:120] or 'no module')
        return result
    for dep in info.get('deps') or ():
        if isinstance(dep, dict) and dep.get('path') == 'github.com/opencontainers/runtime-spec':
            spec = (dep.get('replace') or {}).get('version') or dep.get('version') or ''
            if _SEMVER_TAG.match(spec):
                result['spec'] = spec[1:]
    version, dev, short, dirty = _module_version(main.get('version'))
    dirty = dirty or modified
    hash_ = revision.lower() if revision and re.match(r'^[0-9a-fA-F]{7,40}$', revision) else short
    if version is None and hash_ and not dirty and len(hash_) >= 9:
        for commit, tag in RELEASE_COMMITS:
            if hash_.startswith(commit) and (main.get('version') or '(devel)') == '(devel)':
                version, dev = tag, False  # a release tag built by a toolchain that stamps no version
    if hash_:
        result['commit'] = hash_ + ('-dirty' if dirty else '')
    if version is None and not hash_:
        # Distribution builds (Debian's runc) are built outside module mode: no mod line, no VCS.
        result['error'] = ('Go build information has no module version and no vcs.revision (built without '
                           'version stamping)')
        return result
    result['version'] = version
    result['dev'] = dev
    result['version_source'] = 'buildinfo'
    return result
