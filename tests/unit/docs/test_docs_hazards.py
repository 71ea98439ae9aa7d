# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/hazards.md must describe exactly the hazards of _hazards.CATALOGUE, with their sources, and
every fact it states (versions affected, not affected, fixed in; thresholds; syscalls) must be what
the catalogue's evaluation does."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import CATALOGUE, SEVERITIES, evaluate

DOC = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'docs', 'hazards.md')


def read_doc():
    with open(DOC) as handle:
        return handle.read()


def sections(text):
    """{heading: body} for every '## heading' of the page."""
    parts = re.split(r'^## +(.+?) *$', text, flags=re.MULTILINE)
    return dict((parts[i].strip(), parts[i + 1]) for i in range(1, len(parts) - 1, 2))


def test_sections_match_catalogue():
    headings = set(sections(read_doc()))
    assert set(CATALOGUE) - headings == set(), 'hazards missing from docs/hazards.md'
    assert headings - set(CATALOGUE) == set(), 'docs/hazards.md documents ids the catalogue lacks'


@pytest.mark.parametrize('hazard_id', sorted(CATALOGUE))
def test_section_cites_every_source(hazard_id):
    entry, body = CATALOGUE[hazard_id], sections(read_doc()).get(hazard_id, '')
    urls = set(re.findall(r'https?://[^\s)>\]]+', body))
    for url in [entry['reference']] + list(entry['sources']):
        assert url in urls, '%s: %s not cited in its section of docs/hazards.md' % (hazard_id, url)


@pytest.mark.parametrize('hazard_id', sorted(CATALOGUE))
def test_section_states_severity_and_strategies(hazard_id):
    entry, body = CATALOGUE[hazard_id], sections(read_doc()).get(hazard_id, '')
    match = re.search(r'\*\*Severity\*\*: *([a-z]+)', body)
    assert match and match.group(1) == entry['severity'], '%s: severity line missing or wrong' % hazard_id
    strategies = re.search(r'\*\*Strategies\*\*:(.*?)(?:\n- \*\*|\Z)', body, flags=re.DOTALL)
    assert strategies, '%s: no Strategies line' % hazard_id
    # strategy names all contain an underscore; other backticked words are syscalls
    named = set(re.findall(r'`([a-z]+_[a-z_]+)`', strategies.group(1)))
    assert named == set(entry['remediation']), '%s: strategies %s != catalogue %s' % (
        hazard_id, sorted(named), entry['remediation'])


def test_summary_table_matches_catalogue():
    rows = {}
    for line in read_doc().splitlines():
        match = re.match(r'^\| `([a-z0-9-]+)` \| ([a-z]+)[^|]*\| (.*) \|$', line)
        if match:
            rows[match.group(1)] = (match.group(2), re.findall(r'`([a-z_]+)`', match.group(3)))
    assert set(rows) == set(CATALOGUE)
    for hazard_id, (severity, strategies) in rows.items():
        assert severity in SEVERITIES
        assert (severity, strategies) == (CATALOGUE[hazard_id]['severity'], CATALOGUE[hazard_id]['remediation'])


# --- the facts each section states, checked against what the catalogue's evaluation does --------

VERSION = r'(\d+\.\d+(?:\.\d+)?(?:-rc\.\d+)?)'


def host(syscalls, runtime='runc', version='1.1.13', libseccomp='2.5.4', kernel='6.1.0', arch='x86_64',
         **profile):
    facts_profile = {'path': '/p.json', 'origin': [], 'notify_syscalls': list(syscalls),
                     'listener_path': '/run/agent.sock', 'listener_exists': True, 'default_action': 'SCMP_ACT_ERRNO'}
    facts_profile.update(profile)
    return {'arch': arch, 'kernel': kernel, 'libseccomp': libseccomp, 'profiles': [facts_profile],
            'runtimes': [{'name': runtime, 'path': '/usr/bin/' + runtime, 'version': version, 'dev': False,
                          'libseccomp': libseccomp, 'error': None}]}


def found(facts, hazard_id):
    """{severity: affected} of the hazard's findings for these facts."""
    return dict((f['severity'], f['affected']) for f in evaluate(facts) if f['id'] == hazard_id)


def field(hazard_id, name):
    """The text of '- **Name**: ...' in the hazard's section (up to the next field)."""
    body = sections(read_doc())[hazard_id]
    match = re.search(r'^- \*\*%s\*\*[^:\n]*:(.*?)(?=^- \*\*|\Z)' % re.escape(name), body, flags=re.MULTILINE | re.DOTALL)
    assert match, '%s: no %s line in docs/hazards.md' % (hazard_id, name)
    return ' '.join(match.group(1).split())


def below(version):
    """A version just below `version` ('1.6' -> '1.5.99', '1.1.0' -> '1.0.99', '5.7' -> '5.6')."""
    parts = [int(p) for p in version.split('.')]
    while parts[-1] == 0:
        parts.pop()
    parts[-1] -= 1
    return '.'.join(str(p) for p in parts) + ('.99' if len(version.split('.')) > len(parts) else '')


def test_fcntl_hang_versions_syscalls_and_fix():
    when = field('notify-fcntl-hang', 'When')
    affected = re.findall(r'\*\*' + VERSION + r'\*\*', when)
    assert affected and '`fcntl`' in when
    for version in affected:
        assert found(host(['fcntl'], version=version), 'notify-fcntl-hang') == {'critical': True}, version
        assert found(host(['connect'], version=version), 'notify-fcntl-hang') == {}, version
    if '`fcntl64` on 32-bit' in when:
        assert found(host(['fcntl64'], version=affected[0], arch='i686'), 'notify-fcntl-hang') == {'critical': True}
        assert found(host(['fcntl64'], version=affected[0]), 'notify-fcntl-hang') == {}
    safe = re.findall(VERSION, field('notify-fcntl-hang', 'Not affected'))
    fixed = re.search(r'released in ' + VERSION, field('notify-fcntl-hang', 'Sources')).group(1)
    strategies = field('notify-fcntl-hang', 'Strategies')
    upgrade = re.search(r'any final runc ≥ ' + VERSION, strategies).group(1)
    pin = re.search(r'hold ' + VERSION, strategies).group(1)
    assert len(safe) >= 5
    for version in safe + [fixed, upgrade, pin]:
        assert found(host(['fcntl'], version=version), 'notify-fcntl-hang') == {}, version
    assert found(host(['fcntl'], version=None), 'notify-fcntl-hang') == {'medium': 'unknown'}  # "medium when unknown"


def test_write_rejected_by_every_runc():
    when = field('notify-write-rejected', 'When')
    assert 'every runc refuses it, whatever its version' in when
    measured = re.findall(VERSION, re.search(r'measured on ([^)]*)', when).group(1))
    assert len(measured) >= 4
    for version in measured + ['1.1.0', '1.3.6', None]:
        assert found(host(['write'], version=version), 'notify-write-rejected') == {'high': True}, version
    assert found(host(['read'], version='1.1.0'), 'notify-write-rejected') == {}
    # too old for NOTIFY at all: the other finding, as the page says
    assert '`notify-unsupported` instead' in when
    assert found(host(['write'], version=below('1.1.0')), 'notify-write-rejected') == {}
    assert found(host(['write'], version=below('1.1.0')), 'notify-unsupported') == {'high': True}


def test_default_action_and_listener_conditions():
    assert '`defaultAction` is `SCMP_ACT_NOTIFY`' in field('notify-default-action', 'When')
    assert found(host([], default_action='SCMP_ACT_NOTIFY'), 'notify-default-action') == {'high': True}
    assert found(host(['connect']), 'notify-default-action') == {}
    assert 'no (or an empty) `listenerPath`' in field('notify-no-listener-path', 'When')
    for listener in (None, ''):
        assert found(host(['connect'], listener_path=listener), 'notify-no-listener-path') == {'high': True}
    assert 'no socket exists there' in field('notify-listener-absent', 'When')
    assert found(host(['connect'], listener_exists=False), 'notify-listener-absent') == {'medium': True}
    assert found(host(['connect']), 'notify-listener-absent') == {}


def test_crun_sendmsg_versions_and_fix():
    when = field('crun-notify-sendmsg-hang', 'When')
    fixed = re.search(r'crun older than ' + VERSION + r' with `sendmsg`', when).group(1)
    assert re.search(r'crun ≥ %s\b' % re.escape(fixed), field('crun-notify-sendmsg-hang', 'Strategies'))
    assert ('< %s ' % fixed) in CATALOGUE['crun-notify-sendmsg-hang']['title']
    for version in (below(fixed), '1.5', '1.0'):
        assert found(host(['sendmsg'], 'crun', version), 'crun-notify-sendmsg-hang') == {'critical': True}, version
    for version in (fixed, '1.8.1', '1.21'):
        assert found(host(['sendmsg'], 'crun', version), 'crun-notify-sendmsg-hang') == {}, version
    assert found(host(['fcntl'], 'crun', '1.5'), 'crun-notify-sendmsg-hang') == {}
    assert found(host(['sendmsg'], 'crun', None), 'crun-notify-sendmsg-hang') == {'medium': 'unknown'}


def test_unsupported_thresholds():
    when = field('notify-unsupported', 'When')
    runc = re.search(r'runc older than ' + VERSION, when).group(1)
    libseccomp = re.search(r'libseccomp older than ' + VERSION, when).group(1)
    kernel = re.search(r'kernel older than ' + VERSION, when).group(1)
    cases = [({'version': runc}, {'version': below(runc)}),
             ({'libseccomp': libseccomp}, {'libseccomp': below(libseccomp)}),
             ({'kernel': kernel}, {'kernel': below(kernel)})]
    for ok, old in cases:
        assert found(host(['connect'], **ok), 'notify-unsupported') == {}, ok
        assert found(host(['connect'], **old), 'notify-unsupported') == {'high': True}, old


def test_runtime_sensitive_syscalls():
    named = re.findall(r'`([a-z_0-9]+)`', field('notify-runtime-sensitive', 'When'))
    assert len(named) >= 5
    for syscall in named:
        assert found(host([syscall]), 'notify-runtime-sensitive') == {'info': False}, syscall
    assert found(host(['connect', 'mkdir']), 'notify-runtime-sensitive') == {}
