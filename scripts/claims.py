# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every claim of docs/testing.md's claims table is backed by tests that ran and passed in this run.

scripts/test.sh runs this last (suite `claims`) over its own output directory, where each suite
left its JUnit files: host-junit.xml (pytest), units-junit/ and units-2.19-junit/ (ansible-test),
molecule-<scenario>-junit/ (Ansible's junit callback: one test case per host and task) and
results.tsv (passed/failed per suite). What a claim names in its last column:

  tests/<...>.py::name        each case of that test (every parameter) passed; none skipped, none absent
  tests/<...>.py              every case of that file passed, at least one ran
  molecule/<s>/<file>.yml::T  task T of that playbook passed on every host it ran on, at least one
  benchmarks/<x>.py           the same cell names its JSON result benchmarks/results/<x>.json, which
                              exists, is that benchmark's output and says every goal was met
  scripts/test.sh             the suites named in the same cell (`sanity`, `units-2.19`, ...) ran, none failed
  https://...                 another product's documentation: not a test

  python3 scripts/claims.py OUTPUT_DIR [--junit FILE]   exit 1 when a claim is not backed
"""

from __future__ import absolute_import, division, print_function

import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTING_MD = os.path.join(ROOT, 'docs', 'testing.md')
SUITES = ('shellcheck', 'lint', 'docs', 'sanity', 'sanity-2.16', 'units', 'units-2.19', 'units-2.16', 'host', 'molecule')


def claims_table(path=TESTING_MD):
    """[(claim, [refs], cell text)] of the table under '## Claims and the tests behind them'."""
    with open(path) as handle:
        text = handle.read()
    section = text.split('## Claims and the tests behind them', 1)[1].split('\n## ', 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split(' | ')]
        if line.startswith('| ') and len(cells) == 3 and cells[0] not in ('claim', '---'):
            refs = [r for r in re.findall(r'`([^`]+)`', cells[2]) if '/' in r]
            rows.append((cells[0], refs + re.findall(r'https://\S+', cells[2]), cells[2]))
    return rows


def _status(case):
    for tag, status in (('failure', 'failed'), ('error', 'failed'), ('skipped', 'skipped')):
        if case.find(tag) is not None:
            return status
    return 'passed'


def pytest_cases(paths):
    """{(file, test name without parameters): [status]} from pytest JUnit files."""
    found = {}
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError):
            continue
        for case in root.iter('testcase'):
            module = (case.get('classname') or '').replace('.', '/') + '.py'
            name = (case.get('name') or '').split('[', 1)[0]
            found.setdefault((module, name), []).append(_status(case))
    return found


def molecule_cases(out):
    """[(playbook path without .yml, "[host] play: task", status)] from the junit callback's files."""
    found = []
    for path in glob.glob(os.path.join(out, 'molecule-*-junit', '*.xml')):
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError):
            continue
        for case in root.iter('testcase'):
            # classname: the task's file relative to the repository (JUNIT_TASK_CLASS strips the line)
            found.append((case.get('classname') or '', case.get('name') or '', _status(case)))
    return found


def suite_results(out):
    """{suite: (passed, failed, skipped)} from results.tsv."""
    found = {}
    try:
        with open(os.path.join(out, 'results.tsv')) as handle:
            for line in handle:
                fields = line.rstrip('\n').split('\t')
                if len(fields) >= 4 and all(f.isdigit() for f in fields[1:4]):
                    found[fields[0]] = tuple(int(f) for f in fields[1:4])
    except (IOError, OSError):
        pass
    return found


def _verdict(statuses, what):
    if not statuses:
        return '%s did not run' % what
    bad = [s for s in statuses if s != 'passed']
    if bad:
        return '%s: %d of %d %s' % (what, len(bad), len(statuses), ', '.join(sorted(set(bad))))
    return None


def benchmark_problem(ref, cell, root=ROOT):
    name = os.path.splitext(os.path.basename(ref))[0]
    result = 'benchmarks/results/%s.json' % name
    if '`%s`' % result not in cell:
        return '%s: the claim does not name its JSON result %s' % (ref, result)
    try:
        with open(os.path.join(root, result)) as handle:
            data = json.load(handle)
    except (IOError, OSError, ValueError) as exc:
        return '%s: %s' % (result, exc)
    if not isinstance(data, dict) or data.get('benchmark') != name:
        return '%s is not the output of %s' % (result, ref)
    missed = [g.get('name') for g in data.get('goals') or [] if not g.get('met')]
    if not data.get('goals') or missed:
        return '%s: goal%s not met: %s' % (result, 's' if len(missed) != 1 else '', ', '.join(map(str, missed)) or 'none recorded')
    return None


def check(out, root=ROOT, table=TESTING_MD):
    """[(claim, [problems])] for every claim of the table."""
    tests = pytest_cases([os.path.join(out, 'host-junit.xml')]
                         + glob.glob(os.path.join(out, 'units*-junit', '*.xml')))
    tasks = molecule_cases(out)
    suites = suite_results(out)
    verdicts = []
    for claim, refs, cell in claims_table(table):
        problems = []
        if not refs:
            problems.append('names nothing that proves it')
        for ref in refs:
            path, _sep, name = ref.partition('::')
            if ref.startswith('https://'):
                continue
            if path.startswith('tests/') and path.endswith('.py'):
                statuses = [s for (module, test), found in tests.items() if module == path
                            and (not name or test == name) for s in found]
                problem = _verdict(statuses, ref)
            elif path.startswith('molecule/') and name:
                # a host the task's `when:` leaves out did not run it: "every host it ran on, at least one"
                statuses = [status for playbook, case, status in tasks
                            if playbook == os.path.splitext(path)[0] and case.endswith(': ' + name)
                            and status != 'skipped']
                problem = _verdict(statuses, ref)
            elif path.startswith('benchmarks/results/'):
                problem = None  # named beside its benchmark, checked there
            elif path.startswith('benchmarks/'):
                problem = benchmark_problem(path, cell, root)
            elif path == 'scripts/test.sh':
                named = [s for s in re.findall(r'`([^`]+)`', cell) if s in SUITES]
                problem = None if named else 'scripts/test.sh: the claim names no suite'
                for suite in named:
                    counts = suites.get(suite)
                    if counts is None or counts[0] == 0 or counts[1]:
                        problem = 'suite %s %s' % (suite, 'did not run' if counts is None or not counts[0] else
                                                   'failed (%d)' % counts[1])
                        break
            else:
                problem = '%s: not a test, task, benchmark or suite this check knows' % ref
            if problem:
                problems.append(problem)
        verdicts.append((claim, problems))
    return verdicts


def write_junit(verdicts, path):
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             '<testsuite name="claims" tests="%d" failures="%d">' % (len(verdicts), sum(1 for _c, p in verdicts if p))]
    for claim, problems in verdicts:
        lines.append('  <testcase classname="docs.testing" name=%s>' % quoteattr(claim))
        if problems:
            lines.append('    <failure message=%s/>' % quoteattr('; '.join(problems)))
        lines.append('  </testcase>')
    lines.append('</testsuite>')
    with open(path, 'w') as handle:
        handle.write('\n'.join(lines) + '\n')


def main(argv):
    if not argv or argv[0].startswith('-'):
        sys.stderr.write(__doc__)
        return 2
    out = argv[0]
    verdicts = check(out)
    if '--junit' in argv:
        write_junit(verdicts, argv[argv.index('--junit') + 1])
    failed = [(c, p) for c, p in verdicts if p]
    for claim, problems in failed:
        print('NOT BACKED: %s\n    %s' % (claim, '\n    '.join(problems)))
    print('%d claims backed by tests that passed in this run, %d not' % (len(verdicts) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
