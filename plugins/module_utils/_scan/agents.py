# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bypass4netns agents installed system-wide (``runtime_facts`` ``agents``); per user see ``users.py``.

bypass4netns' own ``make install`` puts ``bypass4netns`` into ``/usr/local/bin`` and the
nerdctl-full archive unpacks ``bypass4netns`` and ``bypass4netnsd`` under its prefix
(``/usr/local`` by default), so every user's rootless containerd finds them on its PATH. Looked at,
a fixed list each: the binaries in the system directories, their Go build information (the module
version gives the NOTIFY list of ``bypass4netns.NOTIFY_TABLE``; nothing is ever run), system units
and global user units (``/etc/systemd/user``: every user's systemd starts those), root's sockets,
and the processes (any user's) whose executable is one of these binaries.
Private to the collection; pure stdlib, Python 3.9+ on targets.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import re
import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils._command import SEARCH_PATH
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import read_bounded, FileProblem
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import bypass4netns as b4n
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.host import add_error

MODULE = 'github.com/rootless-containers/bypass4netns'
AGENT_NAMES = ('bypass4netns', 'bypass4netnsd')
AGENT_DIRS = SEARCH_PATH + ('/opt/nerdctl-full/bin',)
UNIT_DIRS = (('/etc/systemd/system', 'system unit'), ('/usr/local/lib/systemd/system', 'system unit'),
             ('/usr/lib/systemd/system', 'system unit'), ('/lib/systemd/system', 'system unit'),
             ('/etc/systemd/user', 'global user unit'), ('/usr/local/lib/systemd/user', 'global user unit'),
             ('/usr/lib/systemd/user', 'global user unit'))
UNIT_NAMES = ('bypass4netnsd.service', 'bypass4netns.service')
# bypass4netnsd run by root (its default socket is under $XDG_RUNTIME_DIR, root's is /run/user/0)
SOCKETS = tuple(os.path.join(d, s) for d in ('/run', '/run/user/0')
                for s in ('bypass4netnsd.sock', 'bypass4netnsd-com.sock', 'bypass4netns.sock'))
UNIT_LIMIT = 64 * 1024
MAX_PROCESSES = 64  # pids listed per binary
_LDFLAGS_VERSION = re.compile(r'-X[= ]%s/pkg/version\.Version=(v?\d+\.\d+\.\d+[0-9A-Za-z.+~-]*)' % re.escape(MODULE))


def module_versions(found):
    """From a Go build information result (``buildinfo.read_build_info``): ``{version, module,
    bypass4netns, bypass4netns_replaced_by, version_source}`` where ``bypass4netns`` is the version of
    the bypass4netns module the binary is or compiles in (None when it cannot be told)."""
    main = found.get('main') or {}
    out = {'version': main.get('version'), 'module': main.get('path'), 'bypass4netns': None,
           'version_source': 'buildinfo'}
    if main.get('path') == MODULE:  # bypass4netns itself: its own module version ...
        version = main.get('version')
        if not version or version == '(devel)':  # ... or, built from a checkout, the release's ldflags
            match = _LDFLAGS_VERSION.search((found.get('settings') or {}).get('-ldflags') or '')
            version = match.group(1) if match else None
            out['version_source'] = 'buildinfo -ldflags' if match else 'buildinfo'
        out['version'] = out['bypass4netns'] = version
    for dep in found.get('deps') or ():
        if dep.get('path') == MODULE:  # the version nerdctl's go.mod requires; a replace is said, not guessed
            out['bypass4netns'] = dep.get('version')
            if dep.get('replace'):
                out['bypass4netns_replaced_by'] = '%s %s' % (dep['replace'].get('path'), dep['replace'].get('version'))
    return out


def with_notify(entry):
    """Add the NOTIFY list the entry's bypass4netns version puts on a container (and its source)."""
    row = b4n.notify_row(entry['bypass4netns']) if entry.get('bypass4netns') else None
    entry['notify'] = list(row['names']) if row else None
    entry['notify_source'] = row['source'] if row else None
    return entry


def _read_info(real, buildinfo):
    """Build information of one binary, opened once (non-blocking: a FIFO cannot stall the scan)."""
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, 'not a regular file')
        return st, buildinfo.read_build_info_fd(fd)
    finally:
        os.close(fd)


def _owner(st):
    if st.st_uid == 0:
        return None
    try:
        name = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        name = str(st.st_uid)
    return {'name': name, 'uid': st.st_uid}


def _processes(proc_root):
    """{realpath of the executable: [(pid, uid)]} of running bypass4netns(d) processes (any user)."""
    out = {}
    try:
        pids = [p for p in os.listdir(proc_root) if p.isdigit()]
    except OSError:
        return out
    for pid in pids:
        base = os.path.join(proc_root, pid)
        try:
            with open(base + '/comm', 'rb') as handle:
                if handle.read(64).decode('utf-8', 'replace').strip() not in AGENT_NAMES:
                    continue
            exe = os.readlink(base + '/exe')
            uid = os.stat(base).st_uid
        except OSError:
            continue
        if exe.endswith(' (deleted)'):
            exe = exe[:-len(' (deleted)')]
        out.setdefault(exe, []).append((int(pid), uid))
    return out


def _units(fs, errors):
    out = []
    for directory, kind in UNIT_DIRS:
        for name in UNIT_NAMES:
            path = os.path.join(directory, name)
            if not fs.exists(path):
                continue
            entry = {'path': path, 'kind': kind, 'exec': None, 'error': None}
            try:
                text = read_bounded(fs.real(path), UNIT_LIMIT).decode('utf-8', 'replace')
            except FileProblem as exc:
                entry['error'] = add_error(errors, path, exc.message)
            else:
                for line in text.splitlines():
                    key, sep, value = line.strip().partition('=')
                    words = value.strip().lstrip('@-:+!').split()
                    if sep and key.strip() == 'ExecStart' and words:
                        entry['exec'] = words[0]
                        break
            out.append(entry)
    return out


def _sockets(fs):
    found = []
    for path in SOCKETS:
        try:
            if stat.S_ISSOCK(os.lstat(fs.real(path)).st_mode):
                found.append(path)
        except OSError:
            pass
    return found


def system_agents(fs, buildinfo, errors, processes=True):
    """The system-wide bypass4netns agents: one entry per binary (``{name, path, scope: system,
    version, module, bypass4netns, notify, notify_source, version_source, owner, running, error}``),
    then one ``bypass4netnsd`` entry with its units and sockets when there are any (``path``
    null, like the per-user entry). ``processes``: look at /proc (not for a mounted node root)."""
    running = _processes('/proc') if processes else {}
    out, seen = [], set()
    for name in AGENT_NAMES:
        for directory in AGENT_DIRS:
            path = os.path.join(directory, name)
            if not fs.exists(path):
                continue
            real = os.path.realpath(fs.real(path))
            if real in seen:  # /bin -> /usr/bin (merged /usr): one binary, listed once
                continue
            seen.add(real)
            entry = {'name': name, 'path': path, 'scope': 'system', 'version': None, 'module': None,
                     'bypass4netns': None, 'version_source': None, 'owner': None, 'error': None,
                     'running': [{'pid': pid, 'uid': uid} for pid, uid in sorted(running.get(real, ()))[:MAX_PROCESSES]]}
            try:
                st, found = _read_info(real, buildinfo)
            except OSError as exc:
                entry['error'] = add_error(errors, path, 'not read: %s' % (exc.strerror or exc))
                out.append(with_notify(entry))
                continue
            entry['owner'] = _owner(st)
            if found.get('status') == 'found':
                entry.update(module_versions(found))
                if not entry['bypass4netns']:
                    entry['error'] = 'bypass4netns version unknown: a %s build without a version in its build ' \
                                     'information' % (entry['version'] or '(devel)')
            else:
                entry['error'] = found.get('reason') or 'no Go build information'
            out.append(with_notify(entry))
    units, sockets = _units(fs, errors), _sockets(fs)
    if units or sockets:
        out.append({'name': 'bypass4netnsd', 'path': None, 'scope': 'system', 'units': units, 'sockets': sockets,
                    'running': [], 'error': None})
    return out
