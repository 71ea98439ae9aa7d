# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment definition builds a usable context (docs/awx.md).

Real tools, no mocks: `ansible-galaxy collection build` makes the tarball from this tree,
`ansible-builder create` generates the build context, then the context's own steps are replayed
offline on this machine: the collection install the Containerfile runs (with Galaxy pointed at a
dead address, so a fetch would fail) and builder's introspect script, which must find the
collection's requirements through meta/execution-environment.yml.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
EE_DIR = os.path.join(ROOT, 'execution-environment')
TARBALL = 'runcguard-seccomp.tar.gz'
BIN = os.path.dirname(sys.executable)
# Any Galaxy access during the offline replay fails fast instead of hanging.
DEAD_GALAXY = 'http://127.0.0.1:9/'


def _tool(name):
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        path = shutil.which(name)
    if not path:
        pytest.fail('%s is not installed (requirements-dev.txt; run scripts/setup.sh)' % name)
    return path


def _run(argv, cwd=None, env_extra=None, timeout=300):
    # C.UTF-8: untranslated messages, and the UTF-8 locale ansible-core insists on.
    env = dict(os.environ, LANG='C.UTF-8', LC_ALL='C.UTF-8', ANSIBLE_NOCOLOR='1')
    env.update(env_extra or {})
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, 'command %s failed (rc=%s)\nstdout:\n%s\nstderr:\n%s' % (
        argv, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


def _load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """Tarball + copy of execution-environment/ + `ansible-builder create` output."""
    work = tmp_path_factory.mktemp('ee')
    home = work / 'home'
    home.mkdir()
    isolated = {'HOME': str(home), 'ANSIBLE_COLLECTIONS_PATH': str(work / 'none')}
    out = work / 'dist'
    _run([_tool('ansible-galaxy'), 'collection', 'build', '--output-path', str(out), ROOT], env_extra=isolated)
    tarballs = sorted(os.listdir(str(out)))
    assert len(tarballs) == 1 and tarballs[0].startswith('runcguard-seccomp-'), tarballs
    definition = work / 'definition'
    shutil.copytree(EE_DIR, str(definition))
    shutil.copy(str(out / tarballs[0]), str(definition / TARBALL))
    context = work / 'context'
    _run([_tool('ansible-builder'), 'create', '-f', str(definition / 'execution-environment.yml'),
          '-c', str(context), '-v', '2'], env_extra=isolated)
    return {'work': work, 'context': context, 'build': context / '_build', 'env': isolated,
            'definition': _load(str(definition / 'execution-environment.yml'))}


def test_definition_is_schema_v3():
    definition = _load(os.path.join(EE_DIR, 'execution-environment.yml'))
    assert definition['version'] == 3
    assert definition['dependencies']['galaxy'] == 'requirements.yml'
    core = definition['dependencies']['ansible_core']['package_pip']
    runtime = _load(os.path.join(ROOT, 'meta', 'runtime.yml'))
    # The EE must not allow an ansible-core older than the collection supports.
    assert core == 'ansible-core' + runtime['requires_ansible'], (core, runtime['requires_ansible'])


def test_collection_metadata_points_at_existing_files():
    meta = _load(os.path.join(ROOT, 'meta', 'execution-environment.yml'))
    for kind in ('python', 'system'):
        rel = meta['dependencies'][kind]
        assert not os.path.isabs(rel), 'introspect only accepts paths relative to the collection root'
        assert os.path.isfile(os.path.join(ROOT, rel)), rel


def test_containerfile_wires_collection_and_requirements(built):
    path = built['context'] / 'Containerfile'
    assert path.is_file(), 'ansible-builder create wrote no Containerfile'
    text = path.read_text()
    base = built['definition']['images']['base_image']['name']
    assert 'ARG EE_BASE_IMAGE="%s"' % base in text
    assert 'ansible-galaxy collection install' in text and '-r requirements.yml' in text
    # The step that turns meta/execution-environment.yml into pip/bindep installs.
    assert 'introspect.py introspect' in text
    assert '/output/scripts/install-from-bindep' in text
    assert 'ansible-core>=2.16.0' in text


def test_context_holds_this_collection(built):
    tarball = built['build'] / 'collections' / TARBALL
    assert tarball.is_file(), 'the collection tarball was not copied into the build context'
    with tarfile.open(str(tarball)) as archive:
        names = set(archive.getnames())
        manifest = json.load(archive.extractfile('MANIFEST.json'))
    info = manifest['collection_info']
    galaxy = _load(os.path.join(ROOT, 'galaxy.yml'))
    assert (info['namespace'], info['name'], info['version']) == ('runcguard', 'seccomp', galaxy['version'])
    for rel in ('meta/execution-environment.yml', 'requirements.txt', 'meta/ee-bindep.txt',
                'meta/runtime.yml', 'plugins/plugin_utils/_hazards.py'):
        assert rel in names, '%s missing from the built collection' % rel
    assert not any(n.startswith(('molecule/', 'scripts/', '.venv')) for n in names), 'dev-only files shipped'


def test_requirements_take_our_collection_from_the_context(built):
    reqs = _load(str(built['build'] / 'requirements.yml'))
    ours = [c for c in reqs['collections'] if c.get('type') == 'file']
    assert len(ours) == 1, reqs
    assert (built['build'] / ours[0]['name']).is_file(), 'requirements.yml names a file not in the context'
    galaxy_names = [c['name'] for c in reqs['collections'] if c.get('type') != 'file']
    assert 'runcguard.seccomp' not in galaxy_names, 'our collection must not come from Galaxy'


def test_offline_install_and_introspect(built):
    """Replay the galaxy and builder stages of the Containerfile with Galaxy unreachable."""
    build = built['build']
    reqs = _load(str(build / 'requirements.yml'))
    local = {'collections': [c for c in reqs['collections'] if c.get('type') == 'file']}
    local_file = built['work'] / 'local-requirements.yml'
    local_file.write_text(yaml.safe_dump(local))
    dest = built['work'] / 'installed'
    env = dict(built['env'], ANSIBLE_GALAXY_SERVER=DEAD_GALAXY, ANSIBLE_COLLECTIONS_PATH=str(dest))
    _run([_tool('ansible-galaxy'), 'collection', 'install', '-r', str(local_file), '--no-deps',
          '--collections-path', str(dest)], cwd=str(build), env_extra=env)
    installed = dest / 'ansible_collections' / 'runcguard' / 'seccomp'
    assert (installed / 'MANIFEST.json').is_file()

    bindep_out, pip_out = built['work'] / 'bindep.txt', built['work'] / 'pip.txt'
    proc = _run([sys.executable, str(build / 'scripts' / 'introspect.py'), 'introspect', '--sanitize',
                 '--write-bindep', str(bindep_out), '--write-pip', str(pip_out), str(dest)])
    data = yaml.safe_load(proc.stdout)
    # requirements.txt at the collection root reaches the image's pip install (JMESPath policies).
    assert any(line.startswith('jmespath') and 'runcguard.seccomp' in line for line in data['python']), data
    assert pip_out.read_text().startswith('jmespath')
    assert any(line.startswith('coreutils [platform:dpkg]') and 'runcguard.seccomp' in line
               for line in data['system']), data
    assert bindep_out.read_text().startswith('coreutils [platform:dpkg]')


def test_bindep_file_parses_and_is_satisfied_here():
    # bindep exits non-zero on a syntax error or when a listed package is missing (Debian host).
    _run([_tool('bindep'), '--file', os.path.join(ROOT, 'meta', 'ee-bindep.txt'), '--brief'])
