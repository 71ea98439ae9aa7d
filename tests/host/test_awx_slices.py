# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sliced audit the way AWX/AAP runs it (docs/awx.md): ansible-runner (what AWX runs jobs with)
starts three slice jobs at once over SSH hosts (sshd of our own on 127.0.1.x), each with its own
``awx_job_id`` and the hosts ``[i::3]``, each publishing where its partial is with ``set_stats``
under a key of its own; then the merge job. The merged report set is the unsliced job's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys
import threading

import pytest

import sshfleet
from test_sliced_audit import FORMATS, without_merge

ansible_runner = pytest.importorskip('ansible_runner')

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# the project's playbooks, as docs/awx.md has them
SLICE = """
- ansible.builtin.import_playbook: runcguard.seccomp.audit

- name: Publish where this slice's partial is
  hosts: localhost
  gather_facts: false
  tasks:
    - name: One key per slice (AWX merges set_stats shallowly, last writer wins)
      ansible.builtin.set_stats:
        data: "{{ {'runcguard_partial_' ~ awx_job_id: audit_partial_dir} }}"
        per_host: false
"""
MERGE = "- ansible.builtin.import_playbook: runcguard.seccomp.merge\n"
COUNT = 7


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    reason = sshfleet.available()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp('rcg-fleet-runner')
    hosts = sshfleet.SshFleet(COUNT, work, first=40)
    hosts.start()
    try:
        yield hosts, work
    finally:
        hosts.stop()


def job(fleet, name, playbook, extravars, limit=None):
    """One AWX-like job: its own private data dir (project, inventory, env), run by ansible-runner."""
    hosts, work = fleet
    data = work / name
    (data / 'project').mkdir(parents=True)
    (data / 'inventory').mkdir()
    (data / 'env').mkdir()
    (data / 'project' / 'main.yml').write_text(playbook)
    hosts.inventory(data / 'inventory' / 'hosts', sys.executable)
    env = hosts.env({})
    env.update(ANSIBLE_COLLECTIONS_PATH=os.environ['ANSIBLE_COLLECTIONS_PATH'], ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false', ANSIBLE_LOCALHOST_WARNING='0',
               PATH=os.environ['PATH'], LANG='C.UTF-8')
    (data / 'env' / 'envvars').write_text(json.dumps(env))
    (data / 'env' / 'extravars').write_text(json.dumps(dict(extravars, audit_report_timestamp=False,
                                                            audit_report_formats=sorted(FORMATS))))
    return ansible_runner.run_async(private_data_dir=str(data), playbook='main.yml', limit=limit, quiet=True,
                                    ident='job')


def finish(started):
    thread, runner = started
    thread.join(900)
    assert runner.status == 'successful', (runner.status, runner.stdout.read()[-4000:])
    return runner


def stats(runner):
    for event in runner.events:
        if event.get('event') == 'playbook_on_stats':
            return event['event_data'].get('artifact_data') or {}
    return {}


def report(directory):
    with open(str(directory / 'runcguard-audit.json')) as handle:
        return json.load(handle)


def test_three_runner_slices_then_merge_equal_the_unsliced_job(fleet):
    hosts, work = fleet
    unsliced = work / 'reports-unsliced'
    finish(job(fleet, 'unsliced', SLICE.split('\n\n', maxsplit=1)[0] + '\n', {'audit_report_dir': str(unsliced)}))
    partials = work / 'partials'
    started = [job(fleet, 'slice%d' % index, SLICE,
                   {'awx_job_id': 500 + index, 'audit_partial_dir': str(partials), 'audit_partial_only': True,
                    'audit_report_dir': str(work / ('slice%d-reports' % index))},
                   limit=','.join(hosts.hosts[index::3] + ['localhost']))
               for index in range(3)]
    assert all(isinstance(thread, threading.Thread) for thread, _runner in started)
    runners = [finish(item) for item in started]  # all three ran at once
    for index, runner in enumerate(runners):
        assert stats(runner) == {'runcguard_partial_%d' % (500 + index): str(partials)}
    assert sorted(os.listdir(str(partials))) == ['job-%d.rcg-partial.jsonl' % (500 + i) for i in range(3)]
    merged = work / 'reports-merged'
    finish(job(fleet, 'merge', MERGE, {'audit_merge_dir': str(partials), 'audit_merge_expect': 'fleet',
                                       'audit_report_dir': str(merged)}))
    whole, joined = report(unsliced), report(merged)
    info = joined.pop('merge')
    assert info['missing'] == [] and info['errors'] == [] and len(info['partials']) == 3
    assert joined == whole
    assert whole['totals']['hosts'] == COUNT and whole['totals']['audited'] == COUNT
    for fmt, ext in FORMATS.items():  # the JSON is compared above, as data
        name = 'runcguard-audit.%s' % ext
        if fmt != 'json':
            assert without_merge(fmt, (merged / name).read_text()) == (unsliced / name).read_text(), fmt
