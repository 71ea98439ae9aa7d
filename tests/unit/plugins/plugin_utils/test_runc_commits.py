# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The generated runc commit table agrees with ../shared/runc-dev-commits.tsv, and decides dev builds."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import re

import pytest

from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _runc_commits
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._build_verdicts import (
    fcntl_hang_affected,
    runc_commit_matches,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import parse_runtime_version

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
TABLE_PATH = os.path.join(REPO, 'plugins', 'plugin_utils', '_runc_commits.py')


def _generator():
    spec = importlib.util.spec_from_file_location('runc_commits_script', os.path.join(REPO, 'scripts', 'runc_commits.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()
SHARED = GENERATOR.shared_dir(REPO)
TSV = os.path.join(SHARED, 'runc-dev-commits.tsv') if SHARED else None
# CI (RCG_REQUIRE_SHARED=1, seen through scripts/test.sh's marker) fails without the table.
REQUIRED = importlib.import_module('shared_builds').required(REPO)


def needs_tsv(test):
    if TSV and os.path.isfile(TSV):
        return test
    reason = '../shared/runc-dev-commits.tsv is absent (a user clone): table not re-checked'
    if REQUIRED:
        def absent():
            pytest.fail('RCG_REQUIRE_SHARED=1: %s' % reason, pytrace=False)
        absent.__name__ = test.__name__
        return absent
    return pytest.mark.skip(reason=reason)(test)


def tsv_rows():
    """[(commit, VERSION, verdict)] read independently of the generator."""
    rows = []
    with open(TSV) as handle:
        for line in handle:
            if line.strip() and not line.startswith('#'):
                commit, version, verdict = line.rstrip('\n').split('\t')
                rows.append((commit, version, verdict))
    return rows


def chunks(text):
    return [text[i:i + _runc_commits.PREFIX] for i in range(0, len(text), _runc_commits.PREFIX)]


def test_table_is_sorted_hex_and_disjoint():
    for text in (_runc_commits.AFFECTED, _runc_commits.NOT_AFFECTED):
        assert len(text) % _runc_commits.PREFIX == 0
        assert re.match(r'^[0-9a-f]*$', text)
        assert chunks(text) == sorted(set(chunks(text)))
    assert not set(chunks(_runc_commits.AFFECTED)) & set(chunks(_runc_commits.NOT_AFFECTED))
    assert runc_commit_matches('20b95f23c') == [('20b95f23ca33', True)]
    assert runc_commit_matches('e7848482e') == [('e7848482e227', False)]


@needs_tsv
def test_table_and_tsv_agree():
    rows = tsv_rows()
    assert set(chunks(_runc_commits.AFFECTED)) == set(c for c, _v, verdict in rows if verdict == 'affected')
    assert set(chunks(_runc_commits.NOT_AFFECTED)) == set(c for c, _v, verdict in rows if verdict == 'not-affected')


@needs_tsv
def test_generator_output_is_the_committed_table():
    with open(TABLE_PATH) as handle:
        assert handle.read() == GENERATOR.render(GENERATOR.read_tsv(TSV)), 'run python scripts/runc_commits.py'


def _tag(version):
    return 'v' + version.replace('+dev', '')


@needs_tsv
def test_every_tsv_commit_decides_its_build():
    """A build of each listed commit, as runc prints it (describe string, 9-hex abbreviation)."""
    for commit, version, verdict in tsv_rows():
        distance = 0 if '+dev' not in version else 17
        text = 'runc version %s\ncommit: %s-%d-g%s\n' % (version, _tag(version), distance, commit[:9])
        entry = parse_runtime_version(text)
        assert fcntl_hang_affected(entry) is (verdict == 'affected'), (commit, version, verdict)
