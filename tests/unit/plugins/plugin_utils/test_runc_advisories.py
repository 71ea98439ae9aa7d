# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The generated advisory table agrees with ../shared/runc-advisories.tsv; versions match as runc released them."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os

import pytest

from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _advisories, _runc_advisories

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))


def _generator():
    spec = importlib.util.spec_from_file_location('runc_advisories_script',
                                                  os.path.join(REPO, 'scripts', 'runc_advisories.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()
SHARED = GENERATOR.shared_dir(REPO)
TSV = os.path.join(SHARED, 'runc-advisories.tsv') if SHARED else None
needs_tsv = pytest.mark.skipif(not (TSV and os.path.isfile(TSV)),
                               reason='../shared/runc-advisories.tsv is absent (a user clone): table not re-checked')


def tsv_rows():
    """{GO id: fields} read independently of the generator (active rows only)."""
    rows = {}
    with open(TSV, encoding='utf-8') as handle:
        for line in handle:
            if line.startswith('#') or line.startswith('go_id\t') or not line.strip():
                continue
            fields = line.rstrip('\n').split('\t')
            rows[fields[0]] = fields
    return rows


@needs_tsv
def test_table_is_generated_from_the_tsv():
    assert GENERATOR.main(['--check', TSV]) == 0


@needs_tsv
def test_table_agrees_with_the_tsv_row_by_row():
    rows = tsv_rows()
    table = dict((a['go'], a) for a in _runc_advisories.ADVISORIES)
    assert sorted(rows) == sorted(table)
    for go_id, (_go, cve, ghsa, published, fixed, ranges, summary, url) in rows.items():
        advisory = table[go_id]
        assert ','.join(advisory['cve']) == cve and ','.join(advisory['ghsa']) == ghsa
        assert advisory['published'] == published and advisory['url'] == url and advisory['summary'] == summary
        assert ','.join(advisory['fixed']) == fixed
        shown = '; '.join('[introduced %s%s)' % (i, ', fixed %s' % f if f else '') for i, f in advisory['ranges'])
        assert shown == ranges


@needs_tsv
def test_withdrawn_entry_is_never_matched():
    withdrawn = [line for line in open(TSV, encoding='utf-8') if line.startswith('# WITHDRAWN')]
    assert len(withdrawn) == len(_runc_advisories.WITHDRAWN) == 1
    assert _advisories.find_advisory('GO-2025-3543') is None
    assert _advisories.find_advisory('CVE-2025-27612') is None


def test_bad_rows_are_refused_with_their_line(tmp_path):
    good = open(TSV, encoding='utf-8').read() if TSV and os.path.isfile(TSV) else None
    if good is None:
        pytest.skip('no TSV')
    bad = tmp_path / 'bad.tsv'
    bad.write_text(good.replace('[introduced 0, fixed 1.1.2)', '[introduced 0, fixed banana)'), encoding='utf-8')
    with pytest.raises(ValueError, match=r'bad\.tsv:\d+: .*banana'):
        GENERATOR.read_tsv(str(bad))
    bad.write_text(good.replace('\t1.1.2\t', '\t1.1.3\t', 1), encoding='utf-8')
    with pytest.raises(ValueError, match='disagree with the ranges'):
        GENERATOR.read_tsv(str(bad))


def ids(version):
    return sorted(a['go'] for a in _advisories.matching(version))


FIVE = ['GO-2024-3110', 'GO-2025-4096', 'GO-2025-4097', 'GO-2025-4098', 'GO-2026-5761']
FOUR = FIVE[1:]


@pytest.mark.parametrize('version, expected', [
    ('1.1.13', FIVE),
    ('1.1.14', FOUR),
    ('1.1.15', FOUR),
    ('1.2.0', FOUR),
    ('1.2.7', FOUR),
    ('1.2.8', ['GO-2026-5761']),
    ('1.2.9', ['GO-2026-5761']),
    ('1.3.2', FOUR),
    ('1.3.3', ['GO-2026-5761']),
    ('1.3.6', []),
    ('1.4.0-rc.2', ['GO-2025-4096', 'GO-2025-4097', 'GO-2025-4098']),
    ('1.4.0-rc.3', []),  # the range of GO-2026-5761 starts at 1.4.0 (see runc-advisories.md caveats)
    ('1.4.2', ['GO-2026-5761']),
    ('1.4.3', []),
    ('1.5.0-rc.2', ['GO-2026-5761']),
    ('1.5.0', []),
    ('1.1.5', ['GO-2024-2491'] + FIVE),
    ('1.2.0-rc.2', FIVE),
    # runc's order, not SemVer's: rc10 came after rc9 and has the fixes of 0085, 0087 (2fc03cc11c77) and 0835
    ('1.0.0-rc9', ['GO-2021-0087', 'GO-2022-0396', 'GO-2022-0452', 'GO-2022-0914', 'GO-2023-1682', 'GO-2023-1683'] + FIVE),
    ('1.0.0-rc10', ['GO-2022-0396', 'GO-2022-0452', 'GO-2022-0914', 'GO-2023-1682', 'GO-2023-1683'] + FIVE),
    ('1.0.0-rc2', ['GO-2021-0085', 'GO-2021-0087', 'GO-2022-0396', 'GO-2022-0452', 'GO-2022-0835', 'GO-2022-0914',
                   'GO-2023-1682', 'GO-2023-1683', 'GO-2024-3110', 'GO-2025-4096', 'GO-2025-4098', 'GO-2026-5761']),
    ('1.0.0-rc95', ['GO-2022-0452', 'GO-2023-1627', 'GO-2023-1682', 'GO-2023-1683', 'GO-2024-2491'] + FIVE),
    # GO-2022-0274 starts at a pseudo-version after 1.0.0 (before 1.0.1): 1.0.0 is outside, 1.0.1 inside
    ('1.0.0', ['GO-2022-0452', 'GO-2023-1627', 'GO-2023-1682', 'GO-2023-1683', 'GO-2024-2491'] + FIVE),
    ('1.0.1', ['GO-2022-0274', 'GO-2022-0452', 'GO-2023-1627', 'GO-2023-1682', 'GO-2023-1683', 'GO-2024-2491'] + FIVE),
    ('1.1.0', ['GO-2022-0452', 'GO-2023-1627', 'GO-2023-1682', 'GO-2023-1683', 'GO-2024-2491'] + FIVE),
    ('0.0.9', ['GO-2021-0070', 'GO-2021-0085', 'GO-2021-0087', 'GO-2022-0396', 'GO-2022-0452', 'GO-2022-0835',
               'GO-2022-0914', 'GO-2023-1682', 'GO-2023-1683', 'GO-2024-3110', 'GO-2025-4096', 'GO-2025-4098',
               'GO-2026-5761']),
])
def test_matching_by_version(version, expected):
    assert ids(version) == sorted(expected)


def test_floors_per_line_and_overall():
    assert _advisories.line_floors() == {'0.0': None, '0.1': None, '1.0': None, '1.1': None, '1.2': None,
                                         '1.3': '1.3.6', '1.4': '1.4.3', '1.5': '1.5.0'}
    assert _advisories.lowest_safe_release() == '1.3.6'
    assert _advisories.lowest_safe_release('1.4.0-rc.1') == '1.4.3'
    assert _advisories.line_floor('1.1.13') is None and _advisories.line_floor('1.3.0') == '1.3.6'


def test_every_id_finds_its_advisory():
    for advisory in _runc_advisories.ADVISORIES:
        for one in _advisories.advisory_ids(advisory):
            assert _advisories.find_advisory(one.lower()) is advisory


def test_attribution_in_the_docs():
    text = open(os.path.join(REPO, 'docs', 'hazards.md'), encoding='utf-8').read()
    assert 'CC-BY-4.0' in text and 'https://vuln.go.dev' in text and 'Go Vulnerability Database' in text
