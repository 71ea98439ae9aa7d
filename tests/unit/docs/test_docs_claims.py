# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Claims of the README and docs that a unit test can prove, and the claims table of docs/testing.md.

With the controller tests: it reads reports and gate messages (plugin_utils)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import json
import os
import re
import shutil

import yaml

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import discovery as _discovery
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import evaluate
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _render_sarif, _report
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._query import describe

REPO = os.path.join(os.path.dirname(__file__), '..', '..', '..')
VERSIONS = os.path.join(REPO, 'tests', 'unit', 'plugins', 'module_utils', 'fixtures', 'versions')


def test_readme_example_profile_on_debian_runc(tmp_path):
    """README, Quick start: the example profile with Debian 12's runc 1.1.5 gives no hang, a medium
    finding for the absent agent socket and an info one; beside them the runc binary's advisories
    (this stub is owned by no package, so no backport is known: six open)."""
    root = tmp_path / 'root'
    (root / 'usr' / 'sbin').mkdir(parents=True)
    (root / 'srv').mkdir()
    shutil.copy(os.path.join(REPO, 'docs', 'examples', 'bypass4netns-profile.json'), str(root / 'srv' / 'p.json'))
    with open(os.path.join(VERSIONS, 'debian12-runc-1.1.5.txt')) as handle:
        output = handle.read()
    runc = root / 'usr' / 'sbin' / 'runc'
    runc.write_text("#!/bin/sh\ncat <<'EOF'\n%sEOF\n" % output)
    runc.chmod(0o755)
    facts = _discovery.gather(profile_paths=['/srv/p.json'], command_timeout=5, _root=str(root))
    assert [(r['name'], r['version']) for r in facts['runtimes']] == [('runc', '1.1.5')]
    findings = sorted((f['severity'], f['id']) for f in evaluate(facts))
    assert findings == [('high', 'runc-advisory'), ('info', 'notify-runtime-sensitive'),
                        ('medium', 'notify-listener-absent')]
    (advisory,) = [f for f in evaluate(facts) if f['id'] == 'runc-advisory']
    assert len(advisory['advisories']['open']) == 6


def read(path):
    with open(os.path.join(REPO, path)) as handle:
        return handle.read()


def render(value):
    """A default as the docs write it: true, 10, [json, md], "" for the empty string."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, list):
        return '[%s]' % ', '.join(render(v) for v in value)
    if value == '':
        return '""'
    return str(value)


def code_defaults():
    """{name: {default, ...}} of every role variable, playbook variable, module and filter option."""
    defaults = {}
    for path in glob.glob(os.path.join(REPO, 'roles', '*', 'meta', 'argument_specs.yml')):
        for entry in yaml.safe_load(read(path))['argument_specs'].values():
            for name, spec in (entry.get('options') or {}).items():
                if 'default' in spec:
                    defaults.setdefault(name, set()).add(render(spec['default']))
    for path in glob.glob(os.path.join(REPO, 'playbooks', '*.yml')):
        for name, value in re.findall(r"\b([a-z]+_[a-z_]+) \| default\(('[^']*'|true|false|\d+)\)", read(path)):
            defaults.setdefault(name, set()).add(render(yaml.safe_load(value)))
    documents = [yaml.safe_load(read(path)) for path in glob.glob(os.path.join(REPO, 'plugins', 'filter', '*.yml'))]
    for path in glob.glob(os.path.join(REPO, 'plugins', 'modules', '*.py')):
        match = re.search(r"^DOCUMENTATION = r?'''(.*?)^'''", read(path), flags=re.MULTILINE | re.DOTALL)
        if match:
            documents.append(yaml.safe_load(match.group(1)))
    for document in documents:
        document = document.get('DOCUMENTATION', document)
        for name, spec in (document.get('options') or {}).items():
            if isinstance(spec, dict) and 'default' in spec:
                defaults.setdefault(name, set()).add(render(spec['default']))
    return defaults


def doc_defaults():
    """(file, name, value) for each default stated in README/docs: variable tables and prose."""
    for path in ['README.md'] + sorted(os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, 'docs', '*.md'))):
        text = read(path)
        for names, values in re.findall(r'^\| *(`[^|]+) \| *(`[^|]*`)[^|]*\|', text, flags=re.MULTILINE):
            for var, value in zip(re.findall(r'`([a-z]+_[a-z_]+)`', names), re.findall(r'`([^`]*)`', values)):
                yield path, var, value
        for var, value in re.findall(r'`([a-z]+_[a-z_]+)`[^`\n]{0,40}?\bdefault:? `?(\d[\d,]*)', text):
            yield path, var, value.replace(',', '')


def test_documented_defaults_are_the_real_ones():
    """Every default the README and docs state for a variable or option is the one in the code."""
    known = code_defaults()
    checked = []
    for path, var, value in doc_defaults():
        if var in known:
            assert value in known[var], '%s: %s default %s, the code says %s' % (path, var, value, sorted(known[var]))
            checked.append(var)
    assert len(checked) >= 20, checked


def test_gate_query_result_cut_after_2000_characters():
    """docs/jmespath.md: the result is shown as compact JSON, cut after 2,000 characters."""
    result = ['node%04d' % n for n in range(1000)]
    full = json.dumps(result, separators=(', ', ': '))
    assert describe(result) == full[:2000] + '... (%d characters in all)' % len(full)
    assert describe(result[:10]) == json.dumps(result[:10], separators=(', ', ': '))


def test_sarif_notifications_bounded_at_1000():
    """docs/report-schema.md: hosts not audited and error entries are SARIF tool notifications, at
    most 1000 of them, then one note counting the rest."""
    hosts = ['node%04d' % n for n in range(1500)]
    fleet = _report.build_fleet(dict((h, None) for h in hosts), hosts=hosts)
    notes = json.loads(_render_sarif.render(fleet))['runs'][0]['invocations'][0]['toolExecutionNotifications']
    assert len(notes) == 1001
    assert all('node' in n['message']['text'] for n in notes[:1000])
    assert notes[1000] == {'level': 'note', 'message': {'text': '500 more notification(s): see the JSON report'}}


def claims_table():
    """(claim, refs) rows of the table in docs/testing.md (parsed by scripts/claims.py, which
    checks after a whole scripts/test.sh run that each one's tests ran and passed)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('rcg_claims', os.path.join(REPO, 'scripts', 'claims.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [(claim, refs) for claim, refs, _cell in module.claims_table(os.path.join(REPO, 'docs', 'testing.md'))]


def test_claims_table_names_what_exists():
    """Every test, Molecule task, benchmark or script the claims table names exists."""
    rows = claims_table()
    assert len(rows) >= 30
    for claim, refs in rows:
        assert refs, 'claim without a test: %s' % claim
        for ref in refs:
            if ref.startswith('https://'):
                continue  # another product's limit: its documentation
            path, dummy, name = ref.partition('::')
            assert os.path.isfile(os.path.join(REPO, path)), '%s: %s does not exist' % (claim, path)
            if name:
                needle = ('def %s(' if path.endswith('.py') else 'name: %s') % name
                assert needle in read(path), '%s: no %s in %s' % (claim, needle, path)
