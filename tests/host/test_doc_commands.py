# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every fenced ``bash`` block of README.md and docs/*.md runs as written in bash.

A block is run by bash exactly as the page shows it, in a scratch directory that has what the
pages assume (the repository's scripts, an ``inventory.ini`` and ``fleet.ini`` naming this
machine). The comment line right above the fence says how:

- no comment: the Ansible and other tools it calls are recorded instead of run, and what they
  were given is checked the way they would read it: playbooks resolve, every ``-e`` value
  parses the way Ansible parses it into the intended variables, JMESPath expressions
  (``audit_fail_query``, ``remediate_select``, ``jp``) compile, inventories exist. A quoting
  mistake that the shell or Ansible's ``key=value`` splitting would mangle fails here.
- ``<!-- doc-test: run -->``: run for real against this machine; it must succeed (or fail only by
  an audit gate, the effect a gate documents) and write the report it documents.
- ``<!-- doc-test: skip REASON -->``: not run (placeholders to fill in, or the test command
  itself); still parsed by ``bash -n``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
PAGES = ['README.md'] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'docs', '*.md')))
FENCE = re.compile(r'^(?:<!-- doc-test: (?P<mode>run|skip)(?P<why>[^>]*)-->\n)?```bash\n(?P<body>.*?)^```', re.M | re.S)
# Tools a block may call that are recorded, not run, when the block is only checked.
RECORDED = ('ansible-playbook', 'ansible-galaxy', 'ansible-builder', 'ansible-test', 'molecule', 'podman',
            'jp', 'jq', 'strace', 'python')
QUERY_VARIABLES = ('audit_fail_query', 'remediate_select')
PLAYBOOKS = dict((os.path.splitext(os.path.basename(p))[0], p) for p in glob.glob(os.path.join(ROOT, 'playbooks', '*.yml')))


def blocks():
    found = []
    for page in PAGES:
        with open(os.path.join(ROOT, page)) as handle:
            text = handle.read()
        for match in FENCE.finditer(text):
            line = text.count('\n', 0, match.start('body'))
            found.append(pytest.param(page, match.group('mode') or 'check', match.group('body'),
                                      id='%s:%d' % (page, line)))
    return found


BLOCKS = blocks()


def scratch(tmp_path):
    """A directory that looks like the repository root to the commands: the scripts, venv and
    caches of this checkout, and inventories that name this machine."""
    for name in ('scripts', '.venv', '.cache', 'benchmarks', 'playbooks', 'docs'):
        os.symlink(os.path.join(ROOT, name), str(tmp_path / name))
    for inventory in ('inventory.ini', 'fleet.ini'):
        (tmp_path / inventory).write_text(
            'localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    (tmp_path / 'profiles').mkdir()
    return tmp_path


def run_block(body, cwd, stub_dir=None):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'RCG_')))
    path = [os.path.join(str(cwd), '.venv', 'bin'), os.path.join(str(cwd), '.cache', 'bin'), env.get('PATH', '')]
    if stub_dir:
        path.insert(0, stub_dir)
    env['PATH'] = os.pathsep.join(path)  # scripts/env.sh finds its venv on PATH and adds nothing before the stubs
    return subprocess.run(['bash', '-c', body], cwd=str(cwd), env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def make_stubs(tmp_path):
    stubs = tmp_path / '.stubs'
    stubs.mkdir()
    log = tmp_path / 'calls.jsonl'
    for tool in RECORDED:
        path = stubs / tool
        path.write_text('#!%s\nimport json, sys\nwith open(%r, "a") as h:\n'
                        '    h.write(json.dumps([%r] + sys.argv[1:]) + "\\n")\n' % (sys.executable, str(log), tool))
        path.chmod(0o755)
    return str(stubs), log


def extra_vars(value):
    """One ``-e`` value as Ansible reads it (ansible.utils.vars.load_extra_vars)."""
    from ansible.parsing.splitter import parse_kv
    from ansible.parsing.yaml.loader import AnsibleLoader
    if value.startswith('@'):
        return {}
    if value.lstrip()[:1] in ('{', '['):
        return AnsibleLoader(value).get_single_data()
    parsed = parse_kv(value)
    assert '_raw_params' not in parsed, 'Ansible splits -e %r into %r' % (value, parsed)
    return parsed


def check_query(expression, where):
    import jmespath
    assert isinstance(expression, str) and expression.strip(), where
    try:
        jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        pytest.fail('%s: %r is not a JMESPath expression: %s' % (where, expression, exc))


def check_ansible_playbook(argv, cwd):
    positional, index = [], 0
    while index < len(argv):
        arg = argv[index]
        if arg in ('-e', '--extra-vars'):
            for key, value in extra_vars(argv[index + 1]).items():
                if key in QUERY_VARIABLES:
                    check_query(value, '-e %s' % key)
            index += 2
        elif arg in ('-i', '--inventory'):
            assert os.path.exists(os.path.join(str(cwd), argv[index + 1])), argv
            index += 2
        elif arg.startswith('-'):
            index += 1
        else:
            positional.append(arg)
            index += 1
    assert len(positional) == 1, 'one playbook expected: %r' % argv
    name = positional[0]
    if name.startswith('runcguard.seccomp.'):
        assert name.split('.')[-1] in PLAYBOOKS, 'no playbook %s in playbooks/' % name
    else:
        assert os.path.exists(os.path.join(str(cwd), name)), name


def check_jp(argv):
    expressions = [a for i, a in enumerate(argv) if not a.startswith('-') and argv[i - 1] != '-f']
    assert len(expressions) == 1, argv
    check_query(expressions[0], 'jp')


def test_every_page_has_its_blocks_found():
    # The fence pattern must see every ```bash fence, or a block would escape every check.
    for page in PAGES:
        with open(os.path.join(ROOT, page)) as handle:
            fences = handle.read().count('```bash\n')
        assert fences == len([b for b in BLOCKS if b.values[0] == page]), page


@pytest.mark.parametrize('page,mode,body', BLOCKS)
def test_block_runs_as_written(page, mode, body, tmp_path):
    syntax = subprocess.run(['bash', '-n', '-c', body], capture_output=True, text=True, check=False)
    assert syntax.returncode == 0, syntax.stderr
    if mode == 'skip':
        return
    cwd = scratch(tmp_path)
    if mode == 'run':
        proc = run_block(body, cwd)
        # A gate shown in the docs may really fail on this machine (its runc has open advisories): that
        # is the documented effect, said by the gate's own message; anything else must succeed.
        gate_failed = 'runcguard audit gate failed' in proc.stdout + proc.stderr
        assert proc.returncode == 0 or gate_failed, (proc.stdout[-3000:], proc.stderr[-2000:])
        assert 'ERROR!' not in proc.stdout + proc.stderr, proc.stderr[-2000:]
        reports = glob.glob(str(cwd / 'reports' / 'runcguard-audit.*'))
        assert reports, 'the block wrote no report'
        with open(str(cwd / 'reports' / 'runcguard-audit.json')) as handle:
            assert [h['host'] for h in json.load(handle)['hosts']] == ['localhost']
        return
    stubs, log = make_stubs(tmp_path)
    proc = run_block(body, cwd, stubs)
    assert 'command not found' not in proc.stderr, proc.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    for call in calls:
        if call[0] == 'ansible-playbook':
            check_ansible_playbook(call[1:], cwd)
        elif call[0] == 'jp':
            check_jp(call[1:])


def test_a_mangled_gate_is_caught(tmp_path):
    """The check above fails on the README's old gate example: bash runs `0` as a command, and
    single-quoted, Ansible's key=value splitting cuts the expression at its spaces."""
    cwd = scratch(tmp_path)
    stubs, log = make_stubs(tmp_path)
    for body in ('ansible-playbook runcguard.seccomp.audit -e "audit_fail_query=hosts[?counts.critical > `0`].host"',
                 "ansible-playbook runcguard.seccomp.audit -e 'audit_fail_query=hosts[?counts.critical > `0`].host'"):
        if log.exists():
            log.unlink()
        run_block(body, cwd, stubs)
        call = json.loads(log.read_text().splitlines()[0])
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            check_ansible_playbook(call[1:], cwd)
