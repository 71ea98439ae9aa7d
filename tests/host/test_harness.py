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
