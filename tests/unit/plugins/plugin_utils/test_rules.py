# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One rule object per hazard, asked by every part that decides about a build; each list of versions,
runtime locations and profile readers written once in the collection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.runcguard.seccomp.plugins.filter.runtime_verdicts import runtime_verdicts as verdicts_filter
from ansible_collections.runcguard.seccomp.plugins.module_utils import _hazard_versions, _pins
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.probe import PROBE_SYSCALLS
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _probe_findings
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import (
    BUILD_HAZARDS, CATALOGUE, RULES, Rule, runtime_verdicts,
)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))


def runc(version, **extra):
    return dict({'name': 'runc', 'path': '/usr/sbin/runc', 'version': version}, **extra)


def test_one_rule_per_catalogued_hazard():
    assert list(RULES) == list(CATALOGUE)
    for hazard_id, rule in RULES.items():
        assert isinstance(rule, Rule) and rule.id == hazard_id and rule.entry is CATALOGUE[hazard_id]
    assert BUILD_HAZARDS == ('notify-fcntl-hang', 'notify-write-rejected', 'crun-notify-sendmsg-hang',
                             'notify-unsupported', 'runc-advisory')


@pytest.mark.parametrize('runtime', [
    runc('1.2.0-rc.1'), runc('1.2.0-rc.2'), runc('1.1.13'), runc('1.0.2'), runc('1.2.0-rc.1+dev', dev=True),
    runc('1.1.13', libseccomp='2.4.1'), runc(None), {'name': 'crun', 'path': '/usr/bin/crun', 'version': '1.5'},
    {'name': 'crun', 'path': '/usr/bin/crun', 'version': '1.6'},
])
def test_the_report_and_the_probe_ask_the_rules(runtime):
    """runtime_verdicts (the fleet report's inventory) and the probe's prediction are each rule's verdict."""
    verdicts = runtime_verdicts(runtime)
    assert verdicts == dict((h, rule.verdict(runtime)[0]) for h, rule in RULES.items())
    for hazard_id, (kind, trigger, _outcomes) in _probe_findings.HAZARD_OUTCOMES.items():
        if kind == runtime['name']:
            result = {'name': kind, 'runtime': runtime['path'], 'version': runtime['version'], 'dev': runtime.get('dev')}
            assert _probe_findings.version_prediction(hazard_id, result) == verdicts[hazard_id]
        assert trigger in PROBE_SYSCALLS  # the probe tries every rule's trigger by default


def test_probe_outcomes_come_from_the_rules():
    assert _probe_findings.HAZARD_OUTCOMES == {
        'notify-fcntl-hang': ('runc', 'fcntl', ('hang',)),
        'notify-write-rejected': ('runc', 'write', ('error', 'unsupported')),
        'crun-notify-sendmsg-hang': ('crun', 'sendmsg', ('hang',)),
    }


def test_pin_planning_uses_the_rules_releases():
    """A hanging release is never 'fixed' for pin planning, the first final release after them is."""
    for release in _hazard_versions.FCNTL_HANG_RELEASES:
        assert RULES['notify-fcntl-hang'].verdict(runc(release))[0] is True
        assert _pins.is_fixed(release) is False
    assert _pins.is_fixed(_hazard_versions.FCNTL_HANG_FIRST_FIXED) is True
    assert RULES['notify-fcntl-hang'].verdict(runc(_hazard_versions.FCNTL_HANG_FIRST_FIXED))[0] is False


def test_runtime_verdicts_filter():
    assert verdicts_filter('1.2.0-rc.2')['notify-fcntl-hang'] is True
    assert verdicts_filter('1.1.13')['notify-fcntl-hang'] is False
    assert verdicts_filter('1.5', kind='crun')['crun-notify-sendmsg-hang'] is True
    assert verdicts_filter(runc('1.2.0'))['notify-listener-absent'] is None
    assert verdicts_filter({'path': '/opt/youki'})['notify-fcntl-hang'] == 'unknown'
    with pytest.raises(AnsibleFilterError, match='runtime_verdicts: input must be a runtime entry'):
        verdicts_filter(['1.1.13'])
    with pytest.raises(AnsibleFilterError, match='kind must be one of runc, crun'):
        verdicts_filter('1.1.13', kind='youki')
    with pytest.raises(AnsibleFilterError, match='must not be empty'):
        verdicts_filter(' ')


def _sources():
    for top in ('plugins', 'roles', 'playbooks'):
        for parent, _dirs, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                if name.endswith(('.py', '.yml', '.yaml', '.j2')):
                    path = os.path.join(parent, name)
                    with open(path) as handle:
                        yield os.path.relpath(path, REPO), handle.read()


@pytest.mark.parametrize('pattern, home', [
    # the hang releases, as a list of both
    (r"""['"]1\.2\.0-rc\.1['"],\s*['"]1\.2\.0-rc\.2['"]\s*[)\]]""", 'plugins/module_utils/_hazard_versions.py'),
    # runtime locations
    (r"'/usr/lib/cri-o-runc/sbin'", 'plugins/module_utils/_scan/engines.py'),
    (r"'/var/lib/rancher/rke2/'", 'plugins/module_utils/_scan/engines.py'),
    # profile readers
    (r"\(\s*'docker',\s*'podman',\s*'cri-o'", 'plugins/module_utils/_profile.py'),
    (r"'containerd',\s*'nerdctl'", 'plugins/module_utils/_profile.py'),
])
def test_each_list_is_written_once(pattern, home):
    """grep for the list: the one file that defines it (generated advisory tables excepted)."""
    found = sorted(path for path, text in _sources() if re.search(pattern, text) and '_runc_advisories' not in path)
    assert found == [home]
