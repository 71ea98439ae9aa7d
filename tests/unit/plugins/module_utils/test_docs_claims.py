# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Claims of the README and docs that a unit test can prove."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shutil
import subprocess

from ansible_collections.runcguard.seccomp.plugins.module_utils import _discovery
from ansible_collections.runcguard.seccomp.plugins.module_utils._hazards import evaluate

REPO = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
VERSIONS = os.path.join(os.path.dirname(__file__), 'fixtures', 'versions')


def real_run(argv):
    proc = subprocess.run(argv, check=False, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=dict(os.environ, LANG='C', LC_ALL='C'))
    return proc.returncode, proc.stdout, proc.stderr


def test_readme_example_profile_on_debian_runc(tmp_path):
    """README, Quick start: the example profile with Debian 12's runc 1.1.5 gives no hang, a medium
    finding for the absent agent socket and an info one."""
    root = tmp_path / 'root'
    (root / 'usr' / 'sbin').mkdir(parents=True)
    (root / 'srv').mkdir()
    shutil.copy(os.path.join(REPO, 'docs', 'examples', 'bypass4netns-profile.json'), str(root / 'srv' / 'p.json'))
    with open(os.path.join(VERSIONS, 'debian12-runc-1.1.5.txt')) as handle:
        output = handle.read()
    runc = root / 'usr' / 'sbin' / 'runc'
    runc.write_text("#!/bin/sh\ncat <<'EOF'\n%sEOF\n" % output)
    runc.chmod(0o755)
    facts = _discovery.gather({'profile_paths': ['/srv/p.json'], 'runtime_paths': [], 'discover': True,
                               'command_timeout': 5, 'max_profile_size': 1 << 20}, real_run, _root=str(root))
    assert [(r['name'], r['version']) for r in facts['runtimes']] == [('runc', '1.1.5')]
    findings = sorted((f['severity'], f['id']) for f in evaluate(facts))
    assert findings == [('info', 'notify-runtime-sensitive'), ('medium', 'notify-listener-absent')]
