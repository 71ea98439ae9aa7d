# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sliced audits: slices of ``runcguard.seccomp.audit`` with ``audit_partial_dir`` (run at once, as AWX
job slicing does: hosts ``[i::n]``), then ``runcguard.seccomp.merge``. The merged report set is the
one the unsliced run writes (every format, apart from the merge section); a lost slice's hosts are
``missing`` and fail the gate; a host in two partials comes from the newest; corrupt and foreign
files are one error entry each and the rest is merged.

Every host is this machine (local connection) with its own profiles and a real runc 1.2.0-rc.2, so
the audits are real and do not depend on what else is installed here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import realruntimes

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HOSTS = ['node%d' % n for n in range(1, 8)]
NOTIFY = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/rcg-fleet-agent.sock',
          'syscalls': [{'names': ['fcntl', 'connect'], 'action': 'SCMP_ACT_NOTIFY'}]}
PLAIN = {'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read', 'write'], 'action': 'SCMP_ACT_ALLOW'}]}
FORMATS = {'json': 'json', 'md': 'md', 'html': 'html', 'junit': 'junit.xml', 'csv': 'csv', 'sarif': 'sarif'}


# ansible-core 2.16 (the lowest supported; what AAP 2.5 runs), from .venv-2.16 (scripts/setup.sh)
CORE_216 = os.path.join(ROOT, '.venv-2.16', 'bin')


def playbook_bin(bindir=None):
    if bindir:
        found = os.path.join(bindir, 'ansible-playbook')
        if not os.path.exists(found):
            pytest.skip('%s is missing: scripts/setup.sh makes it when python3.11 is installed' % found)
        return found
    found = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(found):
        pytest.skip('ansible-playbook is not installed next to this Python')
    return found


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    """An inventory of HOSTS (local connection), each with its own profiles: (tmp dir, inventory)."""
    runc = realruntimes.unpacked(realruntimes.RUNC_BUILDS)['runc-v1.2.0-rc.2']
    base = tmp_path_factory.mktemp('rcg-fleet-sliced')
    lines = ['[fleet]']
    for index, host in enumerate(HOSTS):
        profiles = []
        for kind, doc in (('notify', NOTIFY), ('plain', PLAIN)):
            if kind == 'notify' and index % 3 == 2:
                continue  # some hosts are clean
            path = base / ('%s-%s.json' % (host, kind))
            path.write_text(json.dumps(doc))
            profiles.append(str(path))
        # host-line values are parsed as Python literals ([group:vars] ones stay strings)
        lines.append("%s audit_profile_paths='%s' audit_runtime_paths='%s'" % (host, json.dumps(profiles),
                                                                               json.dumps([runc])))
    lines += ['', '[fleet:vars]', 'ansible_connection=local', 'ansible_python_interpreter=%s' % sys.executable,
              'audit_discover=false']
    inventory = base / 'hosts.ini'
    inventory.write_text('\n'.join(lines) + '\n')
    return base, inventory


def command(inventory, playbook, *extra, **kwargs):
    """ansible-playbook argv; ``bindir``: another ansible-core's bin directory (its Python runs the modules)."""
    bindir = kwargs.get('bindir')
    argv = [playbook_bin(bindir), '-i', str(inventory), os.path.join(ROOT, 'playbooks', playbook),
            '-e', 'audit_report_timestamp=false', '-e', '{"audit_report_formats": %s}' % json.dumps(sorted(FORMATS))]
    if bindir:
        argv += ['-e', 'ansible_python_interpreter=%s' % os.path.join(bindir, 'python')]
    return argv + list(extra)


def env():
    return dict(os.environ, ANSIBLE_NOCOLOR='1', LANG='C.UTF-8', ANSIBLE_LOCALHOST_WARNING='0',
                ANSIBLE_INVENTORY_UNPARSED_WARNING='0')


def run(argv, expect_rc=0):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, env=env())
    assert proc.returncode == expect_rc, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def run_slices(inventory, partials, count=3, first_job=100, bindir=None):
    """Slices as AWX makes them (hosts [i::count], one job id each), all at once."""
    procs = []
    for index in range(count):
        hosts = HOSTS[index::count]
        procs.append(subprocess.Popen(
            command(inventory, 'audit.yml', '--limit', ','.join(hosts), '-e', 'audit_partial_dir=%s' % partials,
                    '-e', 'audit_partial_only=true', '-e', 'awx_job_id=%d' % (first_job + index),
                    '-e', 'audit_report_dir=%s' % (partials.parent / ('slice%d' % index)), '-e', 'audit_fail_on=low',
                    bindir=bindir),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env()))
    for proc in procs:
        out = proc.communicate(timeout=600)[0]
        # partial only: no gate in the slice (audit_fail_on=low would fail it), no report set
        assert proc.returncode == 0, out[-4000:]
    for index in range(count):
        assert not (partials.parent / ('slice%d' % index)).exists()


def merge(inventory, partials, reports, *extra, **kwargs):
    return run(command(inventory, 'merge.yml', '-e', 'audit_merge_dir=%s' % partials,
                       '-e', 'audit_report_dir=%s' % reports, *extra, bindir=kwargs.pop('bindir', None)), **kwargs)


def report(reports):
    with open(str(reports / 'runcguard-audit.json')) as handle:
        return json.load(handle)


_MERGE_MD = re.compile(r'\n\n## Merge of partial reports\n.*\Z', re.S)
_MERGE_HTML = re.compile(r'<h2>Merge of partial reports</h2><ul id="merge">.*?</ul>\n', re.S)


def without_merge(fmt, text):
    if fmt == 'md':
        return _MERGE_MD.sub('\n', text)
    if fmt == 'html':
        return _MERGE_HTML.sub('', text)
    return text


@pytest.fixture(scope='module')
def unsliced(fleet):
    base, inventory = fleet
    reports = base / 'unsliced'
    run(command(inventory, 'audit.yml', '-e', 'audit_report_dir=%s' % reports))
    return reports


def sliced_equals_unsliced(base, inventory, unsliced, bindir=None):
    """Three slices at once, then the merge: the unsliced report set. Returns the partials' directory."""
    partials = base / 'partials'
    run_slices(inventory, partials, bindir=bindir)
    names = sorted(os.listdir(str(partials)))
    assert names == ['job-100.rcg-partial.jsonl', 'job-101.rcg-partial.jsonl', 'job-102.rcg-partial.jsonl']
    merged = base / 'merged'
    merge(inventory, partials, merged, '-e', 'audit_merge_expect=fleet', bindir=bindir)
    whole, joined = report(unsliced), report(merged)
    info = joined.pop('merge')
    assert sorted(p['file'] for p in info['partials']) == names and info['errors'] == [] and info['missing'] == []
    assert info['duplicates'] == []
    assert joined == whole  # JSON equal (no timestamps in either)
    assert whole['totals']['findings'] > 0 and whole['totals']['hosts'] == len(HOSTS)
    assert whole['totals']['audited'] == len(HOSTS) and whole['totals']['errors'] == 0
    assert whole['by_severity']['critical'] > 0  # runc 1.2.0-rc.2 hangs under NOTIFY fcntl
    for fmt, ext in FORMATS.items():
        name = 'runcguard-audit.%s' % ext
        one = (unsliced / name).read_text()
        other = (merged / name).read_text()
        if fmt == 'json':
            continue
        assert without_merge(fmt, other) == one, fmt
        if fmt in ('md', 'html'):
            assert 'job-101.rcg-partial.jsonl' in other  # the merge section says what was merged
    return partials


@pytest.fixture(scope='module')
def sliced(fleet, unsliced):
    base, inventory = fleet
    return sliced_equals_unsliced(base, inventory, unsliced)


def copy_partials(sliced, name):
    target = sliced.parent / name
    shutil.copytree(str(sliced), str(target))
    return target


def test_three_slices_merge_to_the_unsliced_report(fleet, sliced):
    base, inventory = fleet
    partials = sliced

    # gates over the merged report: audit_fail_on and audit_fail_query fail the merge play
    gated = merge(inventory, partials, base / 'gated', '-e', 'audit_fail_on=high', '-e',
                  'audit_fail_query=hosts[?host==`node1`].findings[].id', expect_rc=2)
    assert 'runcguard audit gate failed (audit_fail_on=high)' in gated.stdout
    assert 'runcguard audit gate failed (audit_fail_query=hosts[?host==`node1`]' in gated.stdout
    assert report(base / 'gated')['verdict']['failed'] is True


def test_lost_slice_is_missing_and_fails_the_gate(fleet, sliced):
    base, inventory = fleet
    partials = copy_partials(sliced, 'partials-lost')
    os.unlink(str(partials / 'job-101.rcg-partial.jsonl'))  # slice 1 never finished
    reports = base / 'lost'
    proc = merge(inventory, partials, reports, '-e', 'audit_merge_expect=fleet', '-e', 'audit_fail_on=critical',
                 expect_rc=2)
    data = report(reports)
    lost = HOSTS[1::3]
    status = dict((h['host'], h['status']) for h in data['hosts'])
    assert sorted(h for h, s in status.items() if s == 'missing') == sorted(lost)
    assert data['merge']['missing'] == sorted(lost, key=HOSTS.index)
    assert all(s == 'ok' for h, s in status.items() if h not in lost)
    assert 'hosts not audited (%s)' % ', '.join(lost) in proc.stdout
    # without audit_merge_expect the lost hosts are simply not known
    merge(inventory, partials, base / 'lost-unexpected')
    assert report(base / 'lost-unexpected')['totals']['hosts'] == len(HOSTS) - len(lost)


def test_newest_partial_wins_and_bad_files_are_error_entries(fleet, sliced):
    base, inventory = fleet
    partials = copy_partials(sliced, 'partials-dup')
    # node1 again, in a later job, after its profile lost the NOTIFY rule
    (base / 'node1-notify.json').write_text(json.dumps(PLAIN))
    try:
        run(command(inventory, 'audit.yml', '--limit', 'node1', '-e', 'audit_partial_dir=%s' % partials,
                    '-e', 'audit_partial_only=true', '-e', 'awx_job_id=399'))
        # the same job id again: refused, the first partial is kept
        again = run(command(inventory, 'audit.yml', '--limit', 'node1', '-e', 'audit_partial_dir=%s' % partials,
                            '-e', 'audit_partial_only=true', '-e', 'awx_job_id=399'), expect_rc=2)
    finally:
        (base / 'node1-notify.json').write_text(json.dumps(NOTIFY))
    assert 'job-399.rcg-partial.jsonl already exists' in again.stdout
    (partials / 'notes.txt').write_text('not a partial\n')
    (partials / 'x.rcg-partial.jsonl').write_text('{"format": "something else"}\n')
    good = (partials / 'job-102.rcg-partial.jsonl').read_text().splitlines()
    (partials / 'job-398.rcg-partial.jsonl').write_text(good[0] + '\n' + good[1][:40] + '\n')  # cut short
    reports = base / 'dup'
    proc = merge(inventory, partials, reports, '-e', 'audit_merge_expect=fleet')
    data = report(reports)
    node1 = [h for h in data['hosts'] if h['host'] == 'node1'][0]
    # the newest audit of node1: its profile lost the NOTIFY rule, so only its runc's advisories remain
    assert node1['status'] == 'ok' and [f['id'] for f in node1['findings'] if f['id'] != 'runc-advisory'] == []
    assert data['merge']['duplicates'] == [{'host': 'node1', 'used': 'job-399.rcg-partial.jsonl',
                                            'ignored': ['job-100.rcg-partial.jsonl']}]
    errors = dict((os.path.basename(e['path']), e['error']) for e in data['merge']['errors'])
    assert sorted(errors) == ['job-398.rcg-partial.jsonl', 'notes.txt', 'x.rcg-partial.jsonl'], errors
    assert 'not a partial report' in errors['notes.txt']
    assert 'not a runcguard.seccomp partial report' in errors['x.rcg-partial.jsonl']
    assert 'not JSON' in errors['job-398.rcg-partial.jsonl'] or 'cut short' in errors['job-398.rcg-partial.jsonl']
    assert data['totals']['hosts'] == len(HOSTS) and data['totals']['missing'] == 0  # the rest merged
    assert 'merge: %s' % (partials / 'notes.txt') in proc.stderr  # warnings name the bad files
    md = (reports / 'runcguard-audit.md').read_text()
    assert 'node1 is in more than one partial' in md and 'notes.txt' in md


def test_sliced_audit_and_merge_on_ansible_core_2_16(tmp_path, fleet):
    """The lowest supported ansible-core: the same unsliced run, slices and merge, the same reports."""
    bindir = CORE_216
    base, inventory = fleet
    work = tmp_path / 'core-2.16'
    work.mkdir()
    unsliced = work / 'unsliced'
    proc = run(command(inventory, 'audit.yml', '-e', 'audit_report_dir=%s' % unsliced, bindir=bindir))
    assert 'does not support Ansible version' not in proc.stdout + proc.stderr  # meta/runtime.yml: >=2.16.0
    assert report(unsliced)['totals']['audited'] == len(HOSTS)
    sliced_equals_unsliced(work, inventory, unsliced, bindir=bindir)


def test_crafted_partial_lines_are_error_entries_and_the_merge_goes_on(tmp_path):
    """Red team: a partial with a good host and three crafted lines (100,000 nested "[", a finding's
    message nested 700 deep, a lone surrogate) made the merge fail (rc 2, no report). Now each bad
    line is one error entry, the good host is merged and every format is written."""
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text('localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    partials, reports = tmp_path / 'partials', tmp_path / 'reports'
    partials.mkdir()
    header = {'format': 'runcguard.seccomp/audit-partial', 'version': 1, 'slice': 'job-1', 'hosts': 4,
              'created_at': '2026-01-02T03:04:05.000006Z', 'run': {}}
    good = {'host': 'good1', 'status': 'ok', 'findings': [], 'errors': [], 'omitted': [], 'runtimes': [], 'probe': []}
    finding = {'id': 'notify-fcntl-hang', 'severity': 'critical', 'title': 't', 'message': 'm'}
    deep = dict(good, host='bad2', findings=[dict(finding, message=json.loads('[' * 700 + ']' * 700))])
    surrogate = '{"host": "bad3", "status": "ok", "message": "x\\ud800y", "findings": []}'
    (partials / 'job-1.rcg-partial.jsonl').write_text('\n'.join([
        json.dumps(header), json.dumps(good), '[' * 100000, json.dumps(deep), surrogate,
        json.dumps({'end': True, 'hosts': 4})]) + '\n')
    proc = merge(inventory, partials, reports)
    data = report(reports)
    assert [h['host'] for h in data['hosts']] == ['good1'] and data['hosts'][0]['status'] == 'ok'
    errors = [e['error'] for e in data['merge']['errors']]
    assert len(errors) == 3, errors
    assert errors[0].startswith('line 3: nested too deep to decode')
    assert errors[1].startswith('line 4: host.findings[0].message[0]') and 'nested more than' in errors[1]
    assert errors[2].startswith('line 5: host.message holds a lone UTF-16 surrogate')
    assert sorted(os.listdir(str(reports))) == sorted('runcguard-audit.%s' % ext for ext in FORMATS.values())
    assert 'line 4: host.findings' in (reports / 'runcguard-audit.md').read_text()
    assert 'merge: %s' % (partials / 'job-1.rcg-partial.jsonl') in proc.stderr  # warned, not failed
