# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who installed a binary, and which version, read from files: no dpkg, rpm or binary is run.

Private to the collection. Pure stdlib (``sqlite3`` for the rpm database), Python 3.9+. Every
reader takes ``fs`` (``_files.Fs`` or the root-confined ``_scan.rootfs.RootFs``): paths are host
paths as the node sees them, reads go through ``fs.read`` and are bounded; on this host dpkg's files
are read only when root owns them and no group or other may write them (``fs.read_root_owned``).

- dpkg: ``/var/lib/dpkg/status`` (installed packages), ``/var/lib/dpkg/info/<pkg>.list`` (their
  files); distroless images keep one stanza per package under ``/var/lib/dpkg/status.d/``.
- rpm: the sqlite database (``/var/lib/rpm/rpmdb.sqlite``, ``/usr/lib/sysimage/rpm/rpmdb.sqlite``),
  read-only; the Berkeley DB (``Packages``) and ndb (``Packages.db``) formats are reported as
  unsupported, not guessed.
- nerdctl-full: ``<prefix>/share/doc/nerdctl-full/README.md`` lists its components
  (``- runc: v1.1.12``); the version is taken for ``<prefix>/bin/runc`` only when that binary's
  sha256 is the one the archive's ``SHA256SUMS`` lists (a binary replaced since is not it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import struct

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem

DPKG_STATUS = '/var/lib/dpkg/status'
DPKG_STATUS_D = '/var/lib/dpkg/status.d'
DPKG_INFO = '/var/lib/dpkg/info'
DPKG_DIVERSIONS = '/var/lib/dpkg/diversions'
RPM_SQLITE = ('/var/lib/rpm/rpmdb.sqlite', '/usr/lib/sysimage/rpm/rpmdb.sqlite')
RPM_OTHER = ('/var/lib/rpm/Packages', '/var/lib/rpm/Packages.db', '/usr/lib/sysimage/rpm/Packages.db')
NERDCTL_DOC = 'share/doc/nerdctl-full'
STATUS_LIMIT = 64 << 20     # dpkg status of a big host is a few MiB
LIST_LIMIT = 8 << 20        # one package's file list
LIST_BUDGET = 256 << 20     # all file lists read in one scan
DIVERSIONS_LIMIT = 4 << 20  # dpkg's diversions: a few KiB on a big host (three short lines per diversion)
STANZA_LIMIT = 1 << 20      # one package's stanza in the status file
INDEX_AFTER = 8             # package names looked up by searching the status text; then it is indexed
RPMDB_LIMIT = 1 << 30       # the sqlite file itself (sqlite reads pages, not the whole file)
RPM_HEADER_LIMIT = 16 << 20
DOC_LIMIT = 1 << 20
BINARY_LIMIT = 512 << 20    # hashed in chunks


class PackageDb(object):
    """Owners and versions of host paths from the package databases under ``fs``.

    ``owner(paths) -> {manager, name, version} | None``; ``problems``: [(path, message)] of databases
    that exist and could not be read (the caller reports them as scan errors).
    """

    def __init__(self, fs):
        self.fs = fs
        self.problems = []
        self._dpkg = None
        self._rpm = None
        self._installed = {}  # package name -> _dpkg_installed's answer
        self._index = {}      # id(status text) -> {name bytes: [stanza offsets]}, built past INDEX_AFTER lookups
        self._lookups = 0

    # -- dpkg ------------------------------------------------------------------------------------
    def _dpkg_texts(self):
        """[(path, b'\\n' + bytes)] of dpkg's status file and distroless ``status.d`` stanzas (read once;
        the newline makes the first stanza's first line follow one too)."""
        if self._dpkg is not None:
            return self._dpkg
        self._dpkg = []
        if self.fs.exists(DPKG_STATUS):
            try:
                self._dpkg.append((DPKG_STATUS, b'\n' + self.fs.read_root_owned(DPKG_STATUS, STATUS_LIMIT, 'dpkg status limit')))
            except FileProblem as exc:
                self.problems.append((DPKG_STATUS, 'dpkg status not readable: %s' % exc.message))
        try:
            extra = self.fs.listdir(DPKG_STATUS_D)
        except FileProblem as exc:
            self.problems.append((DPKG_STATUS_D, exc.message))
            extra = []
        for name in extra:
            path = DPKG_STATUS_D + '/' + name
            if name.startswith('.') or name.endswith('.md5sums'):
                continue
            try:
                self._dpkg.append((path, b'\n' + self.fs.read_root_owned(path, LIST_LIMIT, 'dpkg list limit')))
            except FileProblem as exc:
                self.problems.append((path, exc.message))
        return self._dpkg

    def _dpkg_stanza_starts(self, data, name):
        """Offsets of the lines 'Package: NAME' in ``data`` (b'\\n' first): a search of the text for the
        first few names asked; past INDEX_AFTER lookups one pass indexes every name, so many names (a
        root with thousands of stale file lists naming one path) never search the whole text each."""
        index = self._index.get(id(data))
        if index is None and self._lookups <= INDEX_AFTER:
            start = b'\nPackage: ' + name + b'\n'
            found, at = [], data.find(start)
            while at >= 0:
                found.append(at + 1)
                at = data.find(start, at + 1)
            return found
        if index is None:
            index = self._index[id(data)] = {}
            key, at = b'\nPackage: ', data.find(b'\nPackage: ')
            while at >= 0:
                end = data.find(b'\n', at + len(key))
                end = len(data) if end < 0 else end
                index.setdefault(data[at + len(key):end], []).append(at + 1)
                at = data.find(key, end)
        return index.get(name, [])

    def _dpkg_installed(self, name):
        """{'version', 'arch'} of package ``name`` when dpkg has its files on disk, else None. Only its own
        stanzas are parsed (a big host's status file is MiBs), each up to the next stanza's start, a
        blank line or STANZA_LIMIT bytes, whichever is first: a text without blank lines costs no more."""
        if name in self._installed:
            return self._installed[name]
        self._lookups += 1
        wanted = name.encode('utf-8', 'surrogateescape')
        found = None
        for _path, data in self._dpkg_texts():
            for at in self._dpkg_stanza_starts(data, wanted):
                bound = data.find(b'\nPackage:', at, at + STANZA_LIMIT)
                bound = min(len(data), at + STANZA_LIMIT) if bound < 0 else bound
                end = data.find(b'\n\n', at, bound)
                for stanza in parse_stanzas(data[at:bound if end < 0 else end].decode('utf-8', 'replace')):
                    if stanza.get('package') == name and installed(stanza):
                        found = {'version': stanza.get('version'), 'arch': stanza.get('architecture')}
                        break
                if found:
                    break
            if found:
                break
        self._installed[name] = found
        return found

    def _dpkg_diverted(self):
        """{path: the diverting package, or None for a local diversion} of dpkg's diversions (``dpkg-divert``:
        three lines each, the path, where the original went, the package or ':'; a record without its
        package line is none)."""
        if not self.fs.exists(DPKG_DIVERSIONS):
            return {}
        try:
            text = self.fs.read_root_owned(DPKG_DIVERSIONS, DIVERSIONS_LIMIT, 'dpkg diversions limit')
        except FileProblem as exc:
            self.problems.append((DPKG_DIVERSIONS, exc.message))
            return {}
        lines = text.decode('utf-8', 'surrogateescape').split('\n')
        return dict((lines[i], None if lines[i + 2] == ':' else lines[i + 2])
                    for i in range(0, len(lines) - 2, 3) if lines[i] and lines[i + 2])

    def _dpkg_list_files(self):
        """{package name: [its file list names]} of dpkg's info directory (``name.list``, ``name:arch.list``)."""
        try:
            entries = self.fs.listdir(DPKG_INFO)
        except FileProblem as exc:
            self.problems.append((DPKG_INFO, exc.message))
            return {}
        lists = {}
        for entry in [e for e in entries if e.endswith('.list') and not e.startswith('.')]:
            lists.setdefault(entry[:-len('.list')].split(':')[0], []).append(entry)
        return lists

    def _dpkg_owners(self, groups):
        """For each list of paths in ``groups``, {manager, name, version} of the package (files on disk)
        whose file list names one of them, or None: one pass over the file lists for every group, the
        likely owners (a package named like the binary: runc, crun) first, each list searched as bytes.
        A diverted path is the diverting package's when that package's list names it, else nobody's
        (dpkg-query -S: the original package's file went elsewhere)."""
        found = [None] * len(groups)
        settled = set()  # diverted paths: only the diverting package can have the file (a local diversion: nobody)
        diverted = self._dpkg_diverted() if groups else {}
        lists = self._dpkg_list_files() if groups else {}
        needles = [_list_needles(paths) for paths in groups]
        budget = [LIST_BUDGET]
        for index, paths in enumerate(groups):
            # the first path (the binary's realpath) only: a diverted alias, a link to it, says nothing of the file
            by = next((diverted[p] for p in _list_lines(paths[:1]) if p in diverted), False)
            if by is False:
                continue
            settled.add(index)
            data = self._dpkg_list(lists.get(by, []), budget) if by else b''
            info = self._dpkg_installed(by) if data and any(needle in data for needle in needles[index]) else None
            found[index] = {'manager': 'dpkg', 'name': by, 'version': info['version']} if info else None
        if len(settled) == len(groups):
            lists = {}
        basenames = set(os.path.basename(p) for paths in groups for p in paths)
        for name in sorted(lists, key=lambda n: (n not in basenames, n)):
            data = self._dpkg_list(lists[name], budget)
            hits = [index for index, wanted in enumerate(needles) if found[index] is None and index not in settled
                    and data and any(needle in data for needle in wanted)]
            info = self._dpkg_installed(name) if hits else None
            for index in hits if info else ():
                found[index] = {'manager': 'dpkg', 'name': name, 'version': info['version']}
            if all(found[i] or i in settled for i in range(len(groups))):
                break
            if budget[0] <= 0:
                self.problems.append((DPKG_INFO, 'dpkg file lists larger than %d bytes in all: the owner of %s '
                                                 'was not looked for further'
                                      % (LIST_BUDGET, ', '.join(g[0] for i, g in enumerate(groups)
                                                                if not found[i] and i not in settled))))
                break
        return found

    def _dpkg_list(self, names, budget):
        """The file lists ``names`` of one package as b'\\n' + their lines + b'\\n' (b'' when unreadable)."""
        chunks = []
        for name in names:
            path = '%s/%s' % (DPKG_INFO, name)
            try:
                data = self.fs.read_root_owned(path, min(LIST_LIMIT, max(budget[0], 1)), 'dpkg list limit')
            except FileProblem as exc:
                self.problems.append((path, exc.message))
                continue
            budget[0] -= len(data)
            chunks.append(data)
        return b'\n' + b'\n'.join(chunks) + b'\n' if chunks else b''

    # -- rpm -------------------------------------------------------------------------------------
    def _rpm_owner(self, paths):
        if self._rpm is None:
            self._rpm = self._read_rpm()
        files, packages = self._rpm
        for path in paths:
            index = files.get(path)
            if index is not None:
                return dict(packages[index], manager='rpm')
        return None

    def _read_rpm(self):
        files, packages = {}, []
        for path in RPM_SQLITE:
            if not self.fs.exists(path):
                continue
            try:
                rows = _sqlite_blobs(self.fs.real(path))
            except FileProblem as exc:
                self.problems.append((path, 'rpm database not readable: %s' % exc.message))
                return files, packages
            for blob in rows:
                try:
                    header = parse_rpm_header(blob)
                except ValueError as exc:
                    self.problems.append((path, 'rpm database: a package header is not valid: %s' % exc))
                    continue
                packages.append({'name': header['name'], 'version': header['version']})
                for name in header['files']:
                    files.setdefault(name, len(packages) - 1)
            return files, packages
        for path in RPM_OTHER:
            if self.fs.exists(path):
                self.problems.append((path, 'rpm database in Berkeley DB / ndb format: not supported (only the '
                                            'sqlite rpmdb of RPM 4.16+ is read); package owners unknown'))
                break
        return files, packages

    def owners(self, groups):
        """For each list of paths in ``groups``: {manager, name, version} of the first package database
        that owns one of them, or None."""
        groups = [[p for p in paths if p] for paths in groups]
        found = self._dpkg_owners([g for g in groups if g])
        dpkg = iter(found)
        return [(next(dpkg) or self._rpm_owner(paths)) if paths else None for paths in groups]

    def owner(self, paths):
        """{manager, name, version} of the first package database that owns one of ``paths``, or None."""
        return self.owners([paths])[0]


def _list_lines(paths):
    """What a dpkg file list (or its diversions) says for each path: usrmerge, dpkg still lists /bin/x
    for /usr/bin/x."""
    lines = []
    for path in paths:
        if '\n' in path:  # dpkg lists no such name; as a needle it would match a run of list lines
            continue
        lines.append(path)
        if path.startswith(('/usr/bin/', '/usr/sbin/', '/usr/lib/')):
            lines.append(path[4:])
    return lines


def _list_needles(paths):
    """The lines of _list_lines as b'\\nLINE\\n', to match whole lines of a file list."""
    return [b'\n' + line.encode('utf-8', 'surrogateescape') + b'\n' for line in _list_lines(paths)]


def parse_stanzas(text):
    """[{lower-case field: value}] of a deb822 file (continuation lines joined, bounded per field)."""
    out, current, key = [], {}, None
    for line in text.splitlines():
        if not line.strip():
            if current:
                out.append(current)
            current, key = {}, None
            continue
        if line[0] in ' \t':
            if key and len(current[key]) < 4096:
                current[key] += '\n' + line.strip()
            continue
        name, sep, value = line.partition(':')
        if sep:
            key = name.strip().lower()
            current[key] = value.strip()
    if current:
        out.append(current)
    return [s for s in out if s.get('package')]


def installed(stanza):
    """Has dpkg the package's files on disk? Every state but 'not-installed' and 'config-files' (only
    conffiles left): 'installed', and also 'triggers-pending' / 'triggers-awaited' (installed, a trigger
    not yet run), 'half-configured', 'unpacked', 'half-installed', as dpkg-query -S answers. status.d
    stanzas of distroless images have no Status."""
    status = stanza.get('status')
    return status is None or status.split()[-1:] not in (['not-installed'], ['config-files'], [])


def _sqlite_blobs(real_path):
    """Header blobs of the rpm sqlite database, opened read-only and immutable (nothing written)."""
    import sqlite3
    try:
        size = os.stat(real_path).st_size
    except OSError as exc:
        raise FileProblem(exc.strerror or str(exc))
    if size > RPMDB_LIMIT:
        raise FileProblem('too large: %d bytes (limit %d)' % (size, RPMDB_LIMIT))
    uri = 'file:%s?mode=ro&immutable=1' % _uri_path(real_path)
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise FileProblem(str(exc))
    try:
        return [bytes(row[0]) for row in conn.execute('SELECT blob FROM Packages')
                if row[0] is not None and len(row[0]) <= RPM_HEADER_LIMIT]
    except sqlite3.Error as exc:
        raise FileProblem('not an rpm sqlite database: %s' % exc)
    finally:
        conn.close()


def _uri_path(path):
    from urllib.parse import quote
    return quote(path)


# rpm header tags (rpmtag.h)
_NAME, _VERSION, _RELEASE, _EPOCH = 1000, 1001, 1002, 1003
_DIRINDEXES, _BASENAMES, _DIRNAMES = 1116, 1117, 1118
_OLDFILENAMES = 1027


def parse_rpm_header(blob):
    """{'name', 'version' ('[E:]V-R'), 'files': [paths]} of an rpm database header blob; ValueError."""
    if len(blob) < 8:
        raise ValueError('shorter than its 8-byte preamble')
    count, size = struct.unpack('>II', blob[:8])
    start = 8 + 16 * count
    if count > 65536 or start + size > len(blob):
        raise ValueError('index of %d entries and %d data bytes does not fit in %d bytes' % (count, size, len(blob)))
    store = blob[start:start + size]
    tags = {}
    for index in range(count):
        tag, kind, offset, n = struct.unpack('>iIiI', blob[8 + 16 * index:24 + 16 * index])
        if offset < 0 or offset >= len(store) or n > 1 << 20:
            continue
        tags[tag] = (kind, offset, n)

    def strings(tag):
        if tag not in tags:
            return []
        kind, offset, n = tags[tag]
        if kind not in (6, 8, 9):  # STRING, STRING_ARRAY, I18NSTRING
            return []
        out, pos = [], offset
        for _i in range(1 if kind == 6 else n):
            end = store.find(b'\x00', pos)
            if end < 0:
                raise ValueError('tag %d: unterminated string' % tag)
            out.append(store[pos:end].decode('utf-8', 'replace'))
            pos = end + 1
        return out

    def ints(tag):
        if tag not in tags or tags[tag][0] != 4:  # INT32
            return []
        _kind, offset, n = tags[tag]
        if offset + 4 * n > len(store):
            raise ValueError('tag %d: past the data store' % tag)
        return list(struct.unpack('>%di' % n, store[offset:offset + 4 * n]))

    name = (strings(_NAME) or [None])[0]
    version = (strings(_VERSION) or [None])[0]
    release = (strings(_RELEASE) or [None])[0]
    if not name or not version:
        raise ValueError('no name or version')
    epoch = (ints(_EPOCH) or [None])[0]
    full = '%s%s%s' % ('%d:' % epoch if epoch else '', version, '-' + release if release else '')
    basenames, dirnames, dirindexes = strings(_BASENAMES), strings(_DIRNAMES), ints(_DIRINDEXES)
    files = []
    if basenames and len(dirindexes) == len(basenames):
        for base, index in zip(basenames, dirindexes):
            if 0 <= index < len(dirnames):
                files.append(dirnames[index] + base)
    else:
        files = strings(_OLDFILENAMES)
    return {'name': name, 'version': full, 'files': files}


_COMPONENT = re.compile(r'^\s*[-*]\s*([^:]+?)\s*:\s*(v?\d[^\s@]*)')


def nerdctl_full_version(fs, binary_path, name='runc'):
    """(version text or None, why) for ``binary_path`` (host path) from nerdctl-full's component list.

    The list lives at ``<prefix>/share/doc/nerdctl-full/README.md`` for ``<prefix>/bin/<name>``. The
    version counts only when the binary's sha256 is the one the archive's SHA256SUMS lists for
    ``bin/<name>``.
    """
    bindir = os.path.dirname(binary_path)
    if os.path.basename(bindir) != 'bin':
        return None, None
    prefix = os.path.dirname(bindir)
    doc = '%s/%s' % (prefix.rstrip('/'), NERDCTL_DOC)
    readme = doc + '/README.md'
    if not fs.exists(readme):
        return None, None
    try:
        text = fs.read(readme, DOC_LIMIT, 'document limit').decode('utf-8', 'replace')
    except FileProblem as exc:
        return None, '%s: %s' % (readme, exc.message)
    version = None
    for line in text.splitlines():
        match = _COMPONENT.match(line)
        if match and match.group(1).strip().lower() == name:
            version = match.group(2)
            break
    if not version:
        return None, '%s lists no %s' % (readme, name)
    sums = doc + '/SHA256SUMS'
    try:
        listed = fs.read(sums, DOC_LIMIT, 'document limit').decode('utf-8', 'replace')
    except FileProblem as exc:
        return None, '%s: %s (the %s version of %s is not trusted without it)' % (sums, exc.message, name, readme)
    want = None
    for line in listed.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip('*') in ('bin/' + name, './bin/' + name):
            want = parts[0].lower()
    if not want:
        return None, '%s lists no bin/%s' % (sums, name)
    try:
        digest = fs.sha256(binary_path, BINARY_LIMIT)
    except FileProblem as exc:
        return None, '%s: %s' % (binary_path, exc.message)
    if digest != want:
        return None, ('%s is not the %s %s that nerdctl-full installed (sha256 differs from %s): replaced since'
                      % (binary_path, name, version, sums))
    return version, None


def sha256_of(read_chunks):
    digest = hashlib.sha256()
    for chunk in read_chunks:
        digest.update(chunk)
    return digest.hexdigest()
