# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/hazards.md must describe exactly the hazards of _hazards.CATALOGUE, with their sources."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._hazards import CATALOGUE, SEVERITIES

DOC = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'docs', 'hazards.md')


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
