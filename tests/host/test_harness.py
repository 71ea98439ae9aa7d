# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/test.sh and .ci/run on a copy of the repository that has no shared/ beside it.

What a user's clone sees (tests needing the real builds skip) and what CI sees (`.ci/run` sets
RCG_REQUIRE_SHARED=1: the same tests fail, in the host and the Molecule suite), and a mistyped
scenario name fails either way. The copy carries the real scripts/, .ci/ and tests/host/realruntimes.py,
one host test that needs a real runc build and the real molecule.yml files; scripts/setup.sh is a
stub (the copy shares this checkout's venv and cache) and no Molecule scenario actually starts.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'scripts'))
import shared_builds  # noqa: E402

NEEDS_BUILD = '''
import realruntimes


def test_needs_a_real_runc():
    assert realruntimes.runc_build('runc-v1.2.0-rc.2')
'''


@pytest.fixture(scope='module')
def bare_clone(tmp_path_factory):
    """A copy of the repository in a directory with no shared/ (and no .git to look beside)."""
    top = tmp_path_factory.mktemp('rcg-honest-clone')
    clone = top / 'seccomp'
    shutil.copytree(os.path.join(REPO, 'scripts'), str(clone / 'scripts'))
    shutil.copytree(os.path.join(REPO, '.ci'), str(clone / '.ci'))
    (clone / 'scripts' / 'setup.sh').write_text('#!/usr/bin/env bash\nexit 0\n')
    (clone / 'tests' / 'host').mkdir(parents=True)
    shutil.copy(os.path.join(REPO, 'tests', 'host', 'realruntimes.py'), str(clone / 'tests' / 'host'))
    (clone / 'tests' / 'host' / 'test_needs_build.py').write_text(NEEDS_BUILD)
    for scenario in ('audit', 'runc_pin'):
        (clone / 'molecule' / scenario).mkdir(parents=True)
        shutil.copy(os.path.join(REPO, 'molecule', scenario, 'molecule.yml'), str(clone / 'molecule' / scenario))
    for link in ('.venv', '.cache'):
        os.symlink(os.path.realpath(os.path.join(REPO, link)), str(clone / link))
    assert not os.path.exists(shared_builds.shared_dir(str(clone)))
    return clone


def run(clone, argv, require):
    env = dict(os.environ, TMPDIR=str(clone.parent), RCG_SUITES='host molecule',
               RCG_SCENARIOS='audit runc_pin no_such_scenario')
    env.pop('RCG_REQUIRE_SHARED', None)
    if require:
        env['RCG_REQUIRE_SHARED'] = '1'
    proc = subprocess.run(argv, cwd=str(clone), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=600, check=False)
    out = proc.stdout.decode()
    rows = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0] in ('host', 'molecule') and fields[1].isdigit():
            rows[fields[0]] = tuple(int(n) for n in fields[1:4])
    return proc.returncode, out, rows


def test_a_clone_without_shared_skips_the_real_builds_but_fails_a_mistyped_scenario(bare_clone):
    rc, out, rows = run(bare_clone, ['bash', 'scripts/test.sh'], require=False)
    assert rc != 0, out
    assert rows == {'host': (0, 0, 1), 'molecule': (0, 1, 2)}, out
    assert 'no_such_scenario' in out and 'no scenario molecule/no_such_scenario/molecule.yml' in out
    assert out.rstrip().endswith('0 passed, 1 failed, 3 skipped'), out


def test_ci_without_shared_fails_in_every_suite(bare_clone):
    rc, out, rows = run(bare_clone, ['bash', '.ci/run'], require=False)  # .ci/run sets the variable
    assert rc != 0, out
    assert rows == {'host': (0, 1, 0), 'molecule': (0, 3, 0)}, out
    with open(str(bare_clone / 'tests' / 'output' / 'harness' / 'host.log')) as handle:
        assert 'RCG_REQUIRE_SHARED=1: real runtime builds not found' in handle.read()
    assert 'RCG_REQUIRE_SHARED=1: no shared/runc-builds crun-builds beside the repository' in out
    assert out.rstrip().endswith('0 passed, 4 failed, 0 skipped'), out


def test_the_claims_suite_fails_claims_whose_tests_did_not_run(bare_clone):
    """scripts/test.sh's claims suite over a run of one host test: the documented claims are not backed."""
    (bare_clone / 'docs').mkdir(exist_ok=True)
    shutil.copy(os.path.join(REPO, 'docs', 'testing.md'), str(bare_clone / 'docs'))
    env = dict(os.environ, TMPDIR=str(bare_clone.parent), RCG_SUITES='host claims')
    env.pop('RCG_REQUIRE_SHARED', None)
    proc = subprocess.run(['bash', 'scripts/test.sh'], cwd=str(bare_clone), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=600, check=False)
    out = proc.stdout.decode()
    assert proc.returncode != 0, out
    row = [line.split() for line in out.splitlines() if line.startswith('claims ')][0]
    claims_rows = len(claims.claims_table(os.path.join(REPO, 'docs', 'testing.md')))
    # only the claim resting on another product's documentation is backed without a test
    assert (int(row[1]), int(row[2])) == (1, claims_rows - 1), out
    assert 'NOT BACKED' in out and 'did not run' in out


def test_the_marker_beside_the_staged_copy_requires_shared(tmp_path, monkeypatch):
    """ansible-test passes no environment to unit tests: test.sh's marker says it instead."""
    monkeypatch.delenv('RCG_REQUIRE_SHARED', raising=False)
    root = tmp_path / 'seccomp'
    root.mkdir()
    assert not shared_builds.required(str(root))
    (tmp_path / shared_builds.REQUIRE_MARKER).write_text('')
    assert shared_builds.required(str(root))
    monkeypatch.setenv('RCG_REQUIRE_SHARED', '1')
    assert shared_builds.required(str(tmp_path / 'elsewhere'))


# --- scripts/claims.py: a claim counts only if its tests ran and passed in the same run --------

import json  # noqa: E402

import claims  # noqa: E402  (scripts/)

TABLE = '''# Testing

## Claims and the tests behind them

| claim | where | proven by |
|---|---|---|
| passes | README | `tests/host/test_a.py::test_ok` |
| skipped | README | `tests/host/test_a.py::test_skipped` |
| absent | README | `tests/host/test_a.py::test_gone` |
| one parameter failed | README | `tests/host/test_a.py::test_param` |
| unit file all passed | README | `tests/unit/plugins/test_u.py` |
| task passed on every host | README | `molecule/audit/verify.yml::Hosts agree` |
| task failed on one host | README | `molecule/audit/verify.yml::Hosts differ` |
| task left out on one host by when | README | `molecule/audit/verify.yml::Only h1` |
| task left out on every host | README | `molecule/audit/verify.yml::Nobody` |
| benchmark without its JSON | README | `benchmarks/fast_bench.py` |
| benchmark met its goals | README | `benchmarks/fast_bench.py` → `benchmarks/results/fast_bench.json` |
| benchmark missed a goal | README | `benchmarks/slow_bench.py` → `benchmarks/results/slow_bench.json` |
| suites ran | README | `scripts/test.sh` suites `sanity` and `units-2.19` |
| suite absent | README | `scripts/test.sh` suite `units` |
| docs only | README | https://docs.github.com/x |

## Next
'''

HOST_JUNIT = '''<?xml version="1.0"?><testsuites><testsuite name="pytest">
<testcase classname="tests.host.test_a" name="test_ok"/>
<testcase classname="tests.host.test_a" name="test_skipped"><skipped message="no shared/"/></testcase>
<testcase classname="tests.host.test_a" name="test_param[1]"/>
<testcase classname="tests.host.test_a" name="test_param[2]"><failure message="boom"/></testcase>
</testsuite></testsuites>
'''
UNITS_JUNIT = '''<?xml version="1.0"?><testsuites><testsuite name="pytest">
<testcase classname="tests.unit.plugins.test_u" name="test_one"/>
<testcase classname="tests.unit.plugins.test_u" name="test_two"/>
</testsuite></testsuites>
'''
MOLECULE_JUNIT = '''<?xml version="1.0"?><testsuites><testsuite name="verify">
<testcase classname="molecule/audit/verify" name="[h1] Verify: Hosts agree"/>
<testcase classname="molecule/audit/verify" name="[h2] Verify: Hosts agree"/>
<testcase classname="molecule/audit/verify" name="[h1] Verify: Hosts differ"/>
<testcase classname="molecule/audit/verify" name="[h2] Verify: Hosts differ"><failure message="no"/></testcase>
<testcase classname="molecule/audit/verify" name="[h1] Verify: Only h1"/>
<testcase classname="molecule/audit/verify" name="[h2] Verify: Only h1"><skipped message="when"/></testcase>
<testcase classname="molecule/audit/verify" name="[h1] Verify: Nobody"><skipped message="when"/></testcase>
</testsuite></testsuites>
'''


def test_claims_are_backed_only_by_tests_that_passed_in_this_run(tmp_path):
    out, root = tmp_path / 'out', tmp_path / 'repo'
    (out / 'units-junit').mkdir(parents=True)
    (out / 'molecule-audit-junit').mkdir()
    (out / 'host-junit.xml').write_text(HOST_JUNIT)
    (out / 'units-junit' / 'python3.13-units.xml').write_text(UNITS_JUNIT)
    (out / 'molecule-audit-junit' / 'verify-1.xml').write_text(MOLECULE_JUNIT)
    (out / 'results.tsv').write_text('sanity\t30\t0\t4\t70\trc=0\nunits-2.19\t500\t0\t2\t40\trc=0\n')
    (root / 'benchmarks' / 'results').mkdir(parents=True)
    for name, met in (('fast_bench', True), ('slow_bench', False)):
        (root / 'benchmarks' / 'results' / ('%s.json' % name)).write_text(json.dumps(
            {'benchmark': name, 'goals': [{'name': 'ratio <= 2', 'met': met}]}))
    (tmp_path / 'testing.md').write_text(TABLE)

    verdicts = dict(claims.check(str(out), root=str(root), table=str(tmp_path / 'testing.md')))
    backed = sorted(claim for claim, problems in verdicts.items() if not problems)
    assert backed == ['benchmark met its goals', 'docs only', 'passes', 'suites ran',
                      'task left out on one host by when', 'task passed on every host', 'unit file all passed']
    assert verdicts['task left out on every host'] == ['molecule/audit/verify.yml::Nobody did not run']
    assert verdicts['skipped'] == ['tests/host/test_a.py::test_skipped: 1 of 1 skipped']
    assert verdicts['absent'] == ['tests/host/test_a.py::test_gone did not run']
    assert verdicts['one parameter failed'] == ['tests/host/test_a.py::test_param: 1 of 2 failed']
    assert verdicts['task failed on one host'] == ['molecule/audit/verify.yml::Hosts differ: 1 of 2 failed']
    assert verdicts['benchmark without its JSON'] == [
        'benchmarks/fast_bench.py: the claim does not name its JSON result benchmarks/results/fast_bench.json']
    assert verdicts['benchmark missed a goal'] == ['benchmarks/results/slow_bench.json: goal not met: ratio <= 2']
    assert verdicts['suite absent'] == ['suite units did not run']

    # The harness's form: a JUnit file with one case per claim, exit 1 when one is not backed.
    assert claims.main([str(out), '--junit', str(out / 'claims.xml')]) == 1  # the real table, this fake run


# --- benchmarks: JSON results, goals, and docs/benchmarks.md made from them ----------------------

sys.path.insert(0, os.path.join(REPO, 'benchmarks'))
import _bench  # noqa: E402
import run as bench_run  # noqa: E402  (benchmarks/run.py)


def test_a_missed_goal_or_a_wrong_count_fails_the_benchmark_and_the_docs_come_from_its_json(tmp_path, capsys):
    result = _bench.Result('demo_bench', {'hosts': 3})
    assert result.measure('total', [3.0, 1.0, 2.0, 9.0, 2.5]) == 2.5  # the median, not the best
    result.table('three hosts', ['step', 'seconds'], [['total', 2.5]])
    result.count('hosts in the report', 3, 3)
    result.goal('total <= 5 s', 2.5, '<=', 5.0)
    assert result.finish(str(tmp_path / 'demo_bench.json')) == 0
    data = json.loads((tmp_path / 'demo_bench.json').read_text())
    assert data['goals_met'] is True and data['measurements']['total']['median'] == 2.5

    missed = _bench.Result('demo_bench', {'hosts': 3})
    missed.goal('total <= 5 s', 7.0, '<=', 5.0)
    assert missed.finish(str(tmp_path / 'missed.json')) == 1
    wrong = _bench.Result('demo_bench', {'hosts': 3})
    wrong.count('profiles described', 1049, 1050)
    wrong.goal('ratio <= 2', 1.2, '<=', 2.0)
    assert wrong.finish(str(tmp_path / 'wrong.json')) == 1  # a goal met on the wrong work is no result
    capsys.readouterr()

    page = 'intro\n<!-- bench:demo_bench -->\nold numbers\n<!-- /bench:demo_bench -->\nprose\n'
    new = bench_run.regenerate(page, str(tmp_path))
    assert new.startswith('intro\n<!-- bench:demo_bench -->\n_Generated by `benchmarks/run.py --write-docs`')
    assert '| total | 2.50 |' in new and '- goal total <= 5 s: **2.5** (met)' in new and 'old numbers' not in new
    assert new.endswith('<!-- /bench:demo_bench -->\nprose\n')
    assert bench_run.regenerate(new, str(tmp_path)) == new  # stable: --check-docs passes after --write-docs
    with pytest.raises(LookupError):
        bench_run.regenerate('<!-- bench:absent_bench -->\n<!-- /bench:absent_bench -->\n', str(tmp_path))


def test_docs_benchmarks_md_is_what_the_committed_results_give(capsys):
    """docs/benchmarks.md's measured parts are exactly what benchmarks/results/*.json give."""
    assert bench_run.main(['--check-docs']) == 0, capsys.readouterr().out
