# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""stage_file (runc_pin's download staging): a real HTTP download is sha256-checked before anything is
written and lands in a fresh root-only directory; a wrong checksum stages nothing; state=absent removes the
directory; a dead run's directory is reaped, a directory a user made under the same kind of name is not."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import os
import stat
import subprocess
import sys
import threading

from http.server import HTTPServer, SimpleHTTPRequestHandler

import pytest

from ansible_collections.runcguard.seccomp.plugins.modules import stage_file

ROOT = os.geteuid() == 0
BODY = b'\x7fELF not really runc\n' * 1000
SHA = hashlib.sha256(BODY).hexdigest()


def run(tmp_path, **args):
    args_file = tmp_path / ('args-%d.json' % len(list(tmp_path.glob('args-*.json'))))
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), LANG='C', LC_ALL='C')
    env.pop('http_proxy', None)
    env.pop('HTTP_PROXY', None)
    proc = subprocess.run([sys.executable, stage_file.__file__, str(args_file)], capture_output=True,
                          env=env, timeout=60, check=False)
    out = proc.stdout.decode()
    return json.loads(out[out.index('{'):])


@pytest.fixture
def server(tmp_path):
    served = tmp_path / 'served'
    served.mkdir()
    (served / 'runc.amd64').write_bytes(BODY)

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            kw['directory'] = str(served)
            SimpleHTTPRequestHandler.__init__(self, *a, **kw)

        def log_message(self, *args):
            pass

    httpd = HTTPServer(('127.0.0.1', 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d/runc.amd64' % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_download_is_verified_staged_root_only_and_removed(tmp_path, server):
    parent = tmp_path / 'parent'
    parent.mkdir()
    checked = run(tmp_path, url=server, sha256=SHA, name='runc-1.3.6', parent=str(parent), _ansible_check_mode=True,
                  _ansible_diff=True)
    assert checked['changed'] is True and checked['path'] is None and list(parent.iterdir()) == []
    assert 'runc-1.3.6' in checked['diff']['prepared']
    staged = run(tmp_path, url=server, sha256=SHA.upper(), name='runc-1.3.6', parent=str(parent))
    assert staged['changed'] is True, staged
    assert open(staged['path'], 'rb').read() == BODY and os.path.dirname(staged['path']) == staged['dir']
    dst = os.lstat(staged['dir'])
    assert stat.S_ISDIR(dst.st_mode) and stat.S_IMODE(dst.st_mode) == 0o700 and dst.st_uid == os.geteuid()
    assert stat.S_IMODE(os.lstat(staged['path']).st_mode) == 0o600
    removed = run(tmp_path, state='absent', path=staged['dir'])
    assert removed['changed'] is True and list(parent.iterdir()) == []
    assert run(tmp_path, state='absent', path=staged['dir'])['changed'] is False


def test_a_wrong_checksum_stages_nothing(tmp_path, server):
    parent = tmp_path / 'parent'
    parent.mkdir()
    result = run(tmp_path, url=server, sha256='0' * 64, parent=str(parent))
    assert result.get('failed') and 'has sha256 %s, expected %s' % (SHA, '0' * 64) in result['msg'], result
    assert list(parent.iterdir()) == []


def test_a_dead_runs_directory_is_reaped_a_users_is_not(tmp_path, server):
    parent = tmp_path / 'parent'
    parent.mkdir()
    dead = subprocess.Popen(['true'])
    dead.wait()
    stale = parent / ('runcguard-stage.%d.%s' % (dead.pid, 'ab' * 6))
    stale.mkdir(mode=0o700)
    (stale / 'runc-1.3.6').write_bytes(b'half a download')
    planted = parent / ('runcguard-stage.%d.%s' % (dead.pid, 'cd' * 6))
    planted.mkdir(mode=0o755)
    if ROOT:
        os.chown(str(planted), 65534, 65534)
    staged = run(tmp_path, url=server, sha256=SHA, parent=str(parent))
    assert staged['reaped'] == [str(stale)] and not stale.exists() and planted.exists()
    assert os.path.basename(staged['path']) == 'runc.amd64'
    assert run(tmp_path, state='absent', path=str(planted)).get('failed')  # not root's own 0700 directory
    assert planted.exists()


@pytest.mark.skipif(not ROOT, reason='a directory of another user needs root')
def test_a_users_parent_is_refused(tmp_path, server):
    parent = tmp_path / 'theirs'
    parent.mkdir()
    os.chown(str(parent), 65534, 65534)
    result = run(tmp_path, url=server, sha256=SHA, parent=str(parent))
    assert result.get('failed') and 'owned by' in result['msg'] and list(parent.iterdir()) == []


SECRET = 'S3cr3tT0ken'


def test_url_credentials_and_tokens_are_never_echoed(tmp_path, server):
    """Red team: url=http://admin:S3cr3tT0ken@127.0.0.1:9/runc.amd64 gave 'stage_file: http://admin:S3cr3tT0ken@...:
    cannot be fetched'. No message, diff, return value or invocation shows user:password@ or a query token."""
    parent = tmp_path / 'parent'
    parent.mkdir()
    with_secrets = server.replace('http://', 'http://admin:%s@' % SECRET) + '?token=Q%s#frag' % SECRET
    shown = server  # http://127.0.0.1:PORT/runc.amd64
    outcomes = {
        'unreachable': run(tmp_path, url='http://admin:%s@127.0.0.1:9/runc.amd64' % SECRET, sha256=SHA,
                           parent=str(parent)),
        'bad scheme': run(tmp_path, url='htp://admin:%s@127.0.0.1/x?t=%s' % (SECRET, SECRET), sha256=SHA,
                          parent=str(parent)),
        'check': run(tmp_path, url=with_secrets, sha256=SHA, parent=str(parent), _ansible_check_mode=True,
                     _ansible_diff=True),
        'wrong sha256': run(tmp_path, url=with_secrets, sha256='0' * 64, parent=str(parent)),
        'staged': run(tmp_path, url=with_secrets, sha256=SHA, parent=str(parent), _ansible_diff=True),
    }
    for what, result in outcomes.items():
        text = json.dumps(result)
        assert SECRET not in text and 'admin' not in text and 'token=' not in text, (what, text)
    assert outcomes['unreachable']['msg'].startswith('stage_file: http://127.0.0.1:9/runc.amd64: cannot be fetched')
    assert outcomes['bad scheme']['failed'] and 'htp://127.0.0.1/x' in outcomes['bad scheme']['msg']
    assert shown + ' (sha256 %s) as runc.amd64' % SHA in outcomes['check']['diff']['prepared']
    assert outcomes['wrong sha256']['msg'].startswith('stage_file: %s: has sha256' % shown)
    staged = outcomes['staged']
    assert os.path.basename(staged['path']) == 'runc.amd64' and open(staged['path'], 'rb').read() == BODY
    run(tmp_path, state='absent', path=staged['dir'])
    # through Ansible (the action plugin, -vvv shows the task's arguments and result): url is no_log
    adhoc = os.path.join(os.path.dirname(sys.executable), 'ansible')
    if not os.path.exists(adhoc):
        pytest.skip('ansible is not installed next to this Python')
    proc = subprocess.run([adhoc, 'localhost', '-vvv', '-m', 'runcguard.seccomp.stage_file', '-a', json.dumps(
        {'url': with_secrets, 'sha256': '0' * 64, 'parent': str(parent)})], capture_output=True, text=True,
        timeout=120, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR='1'))
    assert proc.returncode != 0 and 'has sha256 %s' % SHA in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert SECRET not in proc.stdout + proc.stderr and 'admin:' not in proc.stdout + proc.stderr


def test_redact_url_forms():
    from ansible_collections.runcguard.seccomp.plugins.module_utils._stage import redact_url, scrub_url
    assert redact_url('https://u:p@h.example:8443/a/b.bin?x=1#y') == 'https://h.example:8443/a/b.bin'
    assert redact_url('https://h.example/a@b/c') == 'https://h.example/a@b/c'  # an @ in the path is no credential
    assert redact_url('user:password@h.example/x') == 'h.example/x'
    assert redact_url('http://[::1') == '(a URL that cannot be parsed; not shown)'
    assert scrub_url("unknown url type: 'htp://u:pw1@h/x?tok=abc'", 'htp://u:pw1@h/x?tok=abc') \
        == "unknown url type: 'htp://h/x'"
    assert scrub_url('failed for user u with pw1 (pw1%3A)', 'http://u:pw1@h/x') == 'failed for user u with ******** (********%3A)'
