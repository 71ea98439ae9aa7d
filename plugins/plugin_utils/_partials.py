# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Partial reports of a sliced audit (AWX/AAP job slicing) and their merge into one fleet report.

A slice's report play writes ONE partial file for its hosts (``write_partial``); the merge
(``fleet_report`` with ``merge_dir``, the ``runcguard.seccomp.merge`` playbook) reads every partial
of a directory (``read_partials``) and builds the report an unsliced run writes.

File: ``<slice>.rcg-partial.jsonl``, JSON lines, so a reader streams it and a bad line costs one
host, not the file:

- line 1, the header: ``{"format": "runcguard.seccomp/audit-partial", "version": 1, "slice": id,
  "created_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "hosts": N, "run": {...}}``;
- one line per host: its summary as the fleet report holds it (``hosts[]`` of docs/report-schema.md);
- last line, the trailer: ``{"end": true, "hosts": N}`` (a file without it was cut short).

Written atomically under a name no other slice uses (the slice id: ``job-<awx_job_id>`` or
``job-<tower_job_id>`` under AWX, otherwise time, controller, pid and random bits) and never over
an existing file: slices never overwrite or delete each other's partials. The merge treats every
file as untrusted: a corrupt or foreign file is one error entry, the rest is merged.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json
import os
import re
import socket
import uuid

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import Attributes, SafeDir
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._facts import TEXT, FactsError, check_shape, check_tree
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report import HOST_STATES, host_summary
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_text import SEVERITY_ORDER, one_line

FORMAT = 'runcguard.seccomp/audit-partial'
VERSION = 1
SUFFIX = '.rcg-partial.jsonl'
# AWX/AAP extra variables naming the job (each slice of a sliced job is a job of its own).
JOB_VARS = ('awx_job_id', 'tower_job_id')
# Run metadata copied into the header when set (AWX/AAP extra variables).
RUN_VARS = JOB_VARS + ('awx_job_template_name', 'awx_workflow_job_id', 'awx_user_name', 'awx_inventory_name')
# One host line (a summary is bounded: audit_max_findings_per_host findings) and one header line.
MAX_LINE = 64 * 1024 * 1024
_SAFE_ID = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')
_CREATED = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$')
# Strings up to this long are shared between host lines (keys, severities, hazard ids, paths,
# runtime names repeat on most hosts): a 100,000-host merge holds each once, not once per host.
SHARED_STRING = 256
# Keys of a host line and the JSON type each must have (the renderers rely on them).
_HOST_TYPES = (('host', str), ('status', str), ('findings', list), ('errors', list), ('omitted', list),
               ('runtimes', list), ('probe', list))
# What the renderers print as text must be text (or null): a list or object there is crafted.
_OWNER = {'name': TEXT, 'uid': int}
_HOST_SPEC = {
    'host': TEXT, 'status': TEXT, 'message': TEXT, 'profiles': int, 'notify_profiles': int,
    'findings': [{'id': TEXT, 'key': TEXT, 'severity': TEXT, 'title': TEXT, 'profile': TEXT, 'reference': TEXT,
                  'message': TEXT, 'waiver_error': TEXT, 'syscalls': [TEXT], 'owner': _OWNER,
                  'runtime': {'path': TEXT, 'name': TEXT, 'version': TEXT}}],
    'errors': [{'source': TEXT, 'path': TEXT, 'error': TEXT}],
    'omitted': [{'id': TEXT, 'severity': TEXT, 'title': TEXT}],
    'runtimes': [{'name': TEXT, 'path': TEXT, 'version': TEXT, 'error': TEXT, 'commit': TEXT, 'libseccomp': TEXT,
                  'dev': bool, 'used_by': [TEXT], 'users': [TEXT], 'owner': _OWNER,
                  'package': {'manager': TEXT, 'name': TEXT, 'version': TEXT, 'changelog_error': TEXT,
                              'advisory_ids': [TEXT]}}],
    'probe': [{'runtime': TEXT, 'name': TEXT, 'version': TEXT, 'syscall': TEXT, 'outcome': TEXT, 'message': TEXT,
               'user': TEXT}],
}
MISSING_MESSAGE = ('expected (audit_merge_expect) but in no partial of the merge directory: its slice did not '
                   'finish, or its partial file is missing or unreadable')


class PartialError(Exception):
    """A partial that cannot be written (the message says why)."""


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _stamp(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def slice_id(task_vars, moment=None):
    """``job-<id>`` from ``awx_job_id`` / ``tower_job_id`` when set, otherwise unique to this run."""
    for var in JOB_VARS:
        value = task_vars.get(var)
        if value is None or isinstance(value, bool) or not str(value).strip():
            continue
        text = str(value).strip()
        if not _SAFE_ID.match(text):
            raise PartialError('%s=%r cannot name a partial file (letters, digits, ".", "_", "-" only)'
                               % (var, text[:100]))
        return 'job-%s' % text
    moment = moment or _now()
    node = re.sub(r'[^A-Za-z0-9.-]+', '-', socket.gethostname())[:40].strip('-.') or 'controller'
    return '%s-%s-%d-%s' % (moment.strftime('%Y%m%dT%H%M%S%fZ'), node, os.getpid(), uuid.uuid4().hex[:12])


def run_metadata(task_vars, ansible_version=None):
    """What the header records about the run: AWX job variables that are set, the ansible version."""
    run = dict((var, one_line(task_vars[var])) for var in RUN_VARS
               if task_vars.get(var) is not None and one_line(task_vars[var]))
    run['controller'] = socket.gethostname()
    if ansible_version:
        run['ansible_version'] = ansible_version
    return run


def partial_name(slice_name):
    return slice_name + SUFFIX


def _lines(hosts, header):
    yield json.dumps(header, sort_keys=True, ensure_ascii=False, default=str)
    for host in hosts:
        yield json.dumps(host, sort_keys=True, ensure_ascii=False, separators=(',', ':'), default=str)
    yield json.dumps({'end': True, 'hosts': header['hosts']}, sort_keys=True)


def write_partial(directory, hosts, slice_name, run=None, mode=0o644, moment=None):
    """Write ``hosts`` (fleet host entries) as this slice's partial in ``directory``; returns its path.

    Atomic (scratch file, fsync, then a hard link to the final name) and never over an existing
    file: a second partial under the same slice id is refused with PartialError.
    """
    moment = moment or _now()
    hosts = list(hosts)
    header = {'format': FORMAT, 'version': VERSION, 'slice': slice_name, 'created_at': _stamp(moment),
              'hosts': len(hosts), 'run': dict(run or {})}
    final = os.path.join(directory, partial_name(slice_name))
    data = ''.join(line + '\n' for line in _lines(hosts, header)).encode('utf-8')
    # the directory is opened once without following links and the partial published relative to it
    # (module_utils/_safefile, the collection's one writer): never over an existing partial
    try:
        with SafeDir.open(os.path.abspath(directory), allow_user_owned=True, create=True) as sdir:
            sdir.write(partial_name(slice_name), data, attrs=Attributes(os.geteuid(), os.getegid(), mode),
                       exists=False)
    except FileProblem as exc:
        if exc.message == 'already exists':
            raise PartialError('%s already exists: a partial of this slice id was written before; it is kept '
                               '(remove it, or run with another awx_job_id)' % final)
        raise PartialError('cannot write the partial %s: %s' % (final, exc.message))
    except OSError as exc:
        raise PartialError('cannot write the partial %s: %s' % (final, exc))
    return final


# ----------------------------------------------------------------------------------------------
# merge

def _host_problem(entry):
    """Why a host line (bounded by check_tree) cannot be merged, or None."""
    if not isinstance(entry, dict):
        return 'not a host summary (a JSON %s)' % type(entry).__name__
    for key, kind in _HOST_TYPES:
        if key in entry and not isinstance(entry[key], kind):
            return '%s is not a %s' % (key, 'string' if kind is str else 'list')
    if not isinstance(entry.get('host'), str) or not entry['host']:
        return 'no host name'
    if entry.get('status') not in HOST_STATES:
        return 'status %r is not one of %s' % (one_line(entry.get('status'))[:40], ', '.join(HOST_STATES))
    for key in ('findings', 'errors', 'omitted', 'runtimes', 'probe'):
        if any(not isinstance(item, dict) for item in entry.get(key) or []):
            return '%s holds an item that is not an object' % key
    # what the fleet report counts by: a hazard id and a known severity (omitted groups: their counts)
    for key in ('findings', 'omitted'):
        for index, item in enumerate(entry.get(key) or []):
            problem = _item_problem(item, counted=key == 'omitted')
            if problem:
                return '%s[%d] %s' % (key, index, problem)
    try:
        check_shape(entry, _HOST_SPEC, 'host')
    except FactsError as exc:
        return str(exc)
    return None


def _item_problem(item, counted):
    if not isinstance(item.get('id'), str) or not item['id']:
        return 'has no hazard id'
    if item.get('severity') not in SEVERITY_ORDER:
        return 'severity %s is not one of %s' % (one_line(json.dumps(item.get('severity'), default=str))[:40],
                                                 ', '.join(SEVERITY_ORDER))
    for count in ('findings', 'waived') if counted else ():
        value = item.get(count, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return '%s is not a count' % count
    return None


def _header_problem(header):
    if not isinstance(header, dict) or header.get('format') != FORMAT:
        return 'not a runcguard.seccomp partial report (its first line is not a partial header); ignored'
    if header.get('version') != VERSION:
        return 'partial version %s is not supported (this collection reads version %d); ignored' % (
            one_line(header.get('version'))[:20], VERSION)
    if not isinstance(header.get('slice'), str) or not _SAFE_ID.match(header['slice']):
        return 'the header has no valid slice id; ignored'
    if not isinstance(header.get('created_at'), str) or not _CREATED.match(header['created_at']):
        return 'the header has no valid created_at; ignored'
    return None


def _read_header(path):
    with open(path, 'rb') as handle:
        line = handle.readline(MAX_LINE + 1)
    if not line.strip():
        raise ValueError('empty file: not a runcguard.seccomp partial report; ignored')
    try:
        header = json.loads(line.decode('utf-8'))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError('not a runcguard.seccomp partial report (its first line is not JSON); ignored')
    try:
        check_tree(header, 'the header')
    except FactsError as exc:
        raise ValueError('%s; ignored' % exc)
    problem = _header_problem(header)
    if problem:
        raise ValueError(problem)
    return header


def _entries(directory):
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise PartialError('cannot read the merge directory %s: %s' % (directory, exc.strerror or exc))
    # hidden names: scratch files of slices still writing, locks, the report set's own files
    return [name for name in names if not name.startswith('.')]


def read_partials(directory, expect=None):
    """Merge every partial in ``directory``.

    Returns ``(summaries, info)``: ``summaries`` host -> summary (the newest partial's when a host is
    in several; expected hosts in no partial get a ``missing`` placeholder), ``info`` the report's
    ``merge`` section: ``{dir, partials: [{file, slice, created_at, hosts, run}], errors: [{path,
    error}], duplicates: [{host, used, ignored: [file]}], missing: [host]}``.
    """
    errors, headers = [], []
    for name in _entries(directory):
        # the path opened, and the path and name the report shows (a name that is not UTF-8 escaped)
        path, shown = os.path.join(directory, name), _shown_name(name)
        if not name.endswith(SUFFIX):
            kind = 'a directory' if os.path.isdir(path) else 'a file'
            errors.append({'path': os.path.join(directory, shown),
                           'error': '%s that is not a partial report (its name does not end in %s); ignored'
                                    % (kind, SUFFIX)})
            continue
        try:
            if not os.path.isfile(path):
                raise ValueError('not a regular file; ignored')
            headers.append((_read_header(path), shown, path))
        except (OSError, ValueError) as exc:
            errors.append({'path': os.path.join(directory, shown),
                           'error': one_line(getattr(exc, 'strerror', None) or str(exc))})
    # oldest first: a host's newest summary is the one left standing
    headers.sort(key=lambda item: (item[0]['created_at'], item[1]))
    summaries, source, ignored, partials = {}, {}, {}, []
    decode = _shared_decoder()
    for header, name, path in headers:
        read, problems = _read_body(path, name, summaries, source, ignored, decode)
        for problem in problems:
            errors.append({'path': os.path.join(directory, name), 'error': problem})
        partials.append({'file': name, 'slice': header['slice'], 'created_at': header['created_at'],
                         'hosts': read, 'run': header.get('run') if isinstance(header.get('run'), dict) else {}})
    duplicates = [{'host': host, 'used': source[host], 'ignored': files}
                  for host, files in sorted(ignored.items())]
    missing = []
    for host in expect or []:
        host = str(host)
        if host not in summaries:
            summaries[host] = host_summary(host, status='missing', message=MISSING_MESSAGE)
            missing.append(host)
    return summaries, {'dir': directory, 'partials': partials, 'errors': errors, 'duplicates': duplicates,
                       'missing': missing}


def _shown_name(name):
    """A file name as the report shows it: bytes that are not UTF-8 (os.listdir's lone surrogates,
    which no report could encode) as ``\\xNN``."""
    try:
        return name.encode('utf-8', 'surrogateescape').decode('utf-8', 'backslashreplace')
    except UnicodeError:
        return name.encode('utf-8', 'backslashreplace').decode('utf-8')


def _shared_decoder():
    """A JSON decoder whose objects share equal keys and short string values (one copy of each in
    the merge, where json.loads makes new ones for every line: half the memory of 100,000 hosts)."""
    memo = {}
    share = memo.setdefault

    def pairs(items):
        return dict((share(k, k), share(v, v) if isinstance(v, str) and len(v) <= SHARED_STRING else v)
                    for k, v in items)
    return json.JSONDecoder(object_pairs_hook=pairs).decode


def _read_body(path, name, summaries, source, ignored, decode):
    """Merge one partial's host lines into ``summaries``; returns (hosts read, [problem])."""
    problems, read, declared, ended = [], 0, None, False
    try:
        with open(path, 'rb') as handle:
            for number, line in enumerate(_bounded_lines(handle), 1):
                if number == 1:
                    declared = json.loads(line.decode('utf-8')).get('hosts')
                    continue
                if ended:
                    problems.append('line %d: text after the end of the partial; ignored' % number)
                    break
                try:
                    entry = decode(line.decode('utf-8'))
                except (UnicodeDecodeError, ValueError) as exc:
                    problems.append('line %d: not JSON (%s); that host is not merged' % (number, one_line(exc)[:200]))
                    continue
                except RecursionError:  # the decoder recurses: a line of 100,000 "[" is not a host
                    problems.append('line %d: nested too deep to decode; that host is not merged' % number)
                    continue
                try:  # first: no message below may quote a lone surrogate or walk a crafted depth
                    check_tree(entry, 'host')
                except FactsError as exc:
                    problems.append('line %d: %s; that host is not merged' % (number, exc))
                    continue
                if isinstance(entry, dict) and entry.get('end') is True and 'host' not in entry:
                    ended = True
                    if entry.get('hosts') != declared:
                        problems.append('the trailer counts %s hosts, the header %s' % (
                            one_line(entry.get('hosts'))[:20], one_line(declared)[:20]))
                    continue
                problem = _host_problem(entry)
                if problem:
                    problems.append('line %d: %s; that host is not merged' % (number, problem))
                    continue
                host = entry['host']
                if host in source:
                    ignored.setdefault(host, []).append(source[host])
                summaries[host] = entry
                source[host] = name
                read += 1
    except (OSError, ValueError, RecursionError) as exc:
        problems.append(one_line(getattr(exc, 'strerror', None) or str(exc)))
    if not ended:
        problems.append('cut short: no end line after %d host(s) (the %d read are merged)' % (read, read))
    elif declared != read and not problems:
        problems.append('%d host(s) read, the header announces %s' % (read, one_line(declared)[:20]))
    return read, problems


def _bounded_lines(handle):
    while True:
        line = handle.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE:
            raise ValueError('a line longer than %d bytes; the rest of the file is ignored' % MAX_LINE)
        if line.strip():
            yield line


def merge_lines(fleet, limit=100):
    """The report's merge section for people (plain, untrusted text: the renderer escapes it); [] when
    the report is not a merge."""
    merged = fleet.get('merge')
    if not isinstance(merged, dict):
        return []

    def some(items):
        return items[:limit], (['... %d more (see the JSON report)' % (len(items) - limit)] if len(items) > limit else [])

    partials = merged.get('partials') or []
    lines = ['Merged %d partial report(s) from %s: %s' % (
        len(partials), one_line(merged.get('dir')),
        ', '.join('%s (slice %s, %s, %d host(s))' % (one_line(p.get('file')), one_line(p.get('slice')),
                                                     one_line(p.get('created_at')), p.get('hosts') or 0)
                  for p in partials[:limit]) or 'none')]
    shown, more = some(merged.get('missing') or [])
    if shown:
        lines.append('Expected but in no partial (missing): %s%s' % (', '.join(one_line(h) for h in shown),
                                                                     ' ' + more[0] if more else ''))
    shown, more = some(merged.get('duplicates') or [])
    lines += ['%s is in more than one partial: used %s (newest), ignored %s' % (
        one_line(d.get('host')), one_line(d.get('used')), one_line(d.get('ignored'))) for d in shown] + more
    shown, more = some(merged.get('errors') or [])
    lines += ['Not merged: %s: %s' % (one_line(e.get('path')), one_line(e.get('error'))) for e in shown] + more
    return lines
