# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of the NOTIFY canary: ABI numbers, struct packing, config.json, outcome rules."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import struct

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import (
    abi as _probe_abi, bundle as _probe_bundle, canary as _probe_canary, cleanup as _probe_cleanup,
    outcome as _probe_outcome, probe as _probe)


# Values from include/uapi/linux/seccomp.h as compiled on each arch (strace / kernel headers).
@pytest.mark.parametrize('arch, recv, send, id_valid', [
    ('x86_64', 0xc0502100, 0xc0182101, 0x40082102),
    ('aarch64', 0xc0502100, 0xc0182101, 0x40082102),
    ('s390x', 0xc0502100, 0xc0182101, 0x40082102),
    # powerpc: 3 direction bits, WRITE=4, so _IOW differs while _IOWR happens to coincide.
    ('ppc64le', 0xc0502100, 0xc0182101, 0x80082102),
])
def test_ioctl_numbers(arch, recv, send, id_valid):
    assert _probe_abi.notif_ioctls(arch) == {'recv': recv, 'send': send, 'id_valid': id_valid}


def test_struct_sizes_match_uapi():
    assert _probe_abi.NOTIF_HEAD.size + _probe_abi.SECCOMP_DATA_SIZE == _probe_abi.SECCOMP_NOTIF_SIZE
    assert _probe_abi.NOTIF_RESP.size == _probe_abi.SECCOMP_NOTIF_RESP_SIZE


def test_pack_continue():
    data = _probe_abi.pack_continue(0x1122334455667788)
    assert len(data) == 24
    assert struct.unpack('=QqiI', data) == (0x1122334455667788, 0, 0, _probe_abi.SECCOMP_USER_NOTIF_FLAG_CONTINUE)
    # A newer kernel may report a bigger response struct: pad with zeroes, never truncate.
    bigger = _probe_abi.pack_continue(7, 32)
    assert len(bigger) == 32 and bigger[24:] == b'\0' * 8 and bigger[:24] == _probe_abi.pack_continue(7)


def test_unpack_notif():
    buf = bytearray(80)
    struct.pack_into('=QIIiI', buf, 0, 42, 1234, 0, 72, 0xc000003e)  # id, pid, flags, nr (fcntl), arch
    assert _probe_abi.unpack_notif(buf) == (42, 1234, 72)


def test_notif_sizes_from_the_running_kernel():
    if os.uname()[4] not in _probe_abi.SECCOMP_SYSCALL_NR:
        pytest.skip('no seccomp(2) number known for %s' % os.uname()[4])
    sizes = _probe_abi.notif_sizes()
    # The kernel's structs are never smaller than the UAPI ones the ioctl numbers encode.
    assert sizes['seccomp_notif'] >= 80 and sizes['seccomp_notif_resp'] >= 24 and sizes['seccomp_data'] >= 64


def test_notif_sizes_unknown_arch():
    with pytest.raises(OSError, match='no seccomp'):
        _probe_abi.notif_sizes('pdp11')


@pytest.mark.parametrize('release, key', [('6.1.0-18-amd64', (6, 1)), ('5.4.0', (5, 4)), ('garbage', (0, 0))])
def test_kernel_key(release, key):
    assert _probe_abi.kernel_key(release) == key


def test_host_support_old_kernel():
    if os.uname()[4] not in _probe_abi.SECCOMP_SYSCALL_NR:
        pytest.skip('no seccomp(2) number known')
    assert 'CONTINUE' in _probe_abi.host_support(release='5.4.0')
    assert _probe_abi.host_support(release='6.1.0') is None


# --- config.json -------------------------------------------------------------------------

def test_notify_profile_shape():
    section = _probe_bundle.notify_profile(['fcntl', 'fcntl'], '/tmp/x/agent.sock')
    assert section == {
        'defaultAction': 'SCMP_ACT_ALLOW',
        'listenerPath': '/tmp/x/agent.sock',
        'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY'}],
    }


@pytest.mark.parametrize('nnp', [True, False])
def test_canary_config(nnp):
    config = _probe_bundle.canary_config('runcguard-probe-1-abc', ['connect', 'fcntl'], '/t/agent.sock', nnp, ['usr', 'lib64'])
    json.dumps(config)  # serialisable
    process, linux = config['process'], config['linux']
    assert process['args'] == ['true'] and process['terminal'] is False
    assert process['noNewPrivileges'] is nnp
    assert process['user'] == {'uid': 0, 'gid': 0}
    assert all(v == [] for v in process['capabilities'].values())
    assert config['root'] == {'path': 'rootfs', 'readonly': True}
    types = sorted(n['type'] for n in linux['namespaces'])
    assert types == ['ipc', 'mount', 'network', 'pid', 'uts']  # new netns: no host network; no userns
    assert linux['cgroupsPath'] == '/runcguard-probe-1-abc'  # cgroupfs form, never slice:prefix:name
    assert linux['seccomp']['syscalls'] == [{'names': ['connect', 'fcntl'], 'action': 'SCMP_ACT_NOTIFY'}]
    assert linux['seccomp']['listenerPath'] == '/t/agent.sock'
    binds = [m for m in config['mounts'] if m['type'] == 'bind']
    assert [(m['source'], m['destination']) for m in binds] == [('/usr', '/usr'), ('/lib64', '/lib64')]
    assert all('ro' in m['options'] and 'bind' in m['options'] for m in binds)
    assert 'hooks' not in config  # nothing runs on the host side


def test_rootfs_layout_mirrors_symlinks(tmp_path):
    (tmp_path / 'usr').mkdir()
    (tmp_path / 'lib64').mkdir()
    os.symlink('usr/bin', str(tmp_path / 'bin'))
    os.symlink('usr/lib', str(tmp_path / 'lib'))
    (tmp_path / 'etc').mkdir()  # not part of the canary
    links, binds = _probe_bundle.rootfs_layout(str(tmp_path))
    assert links == {'bin': 'usr/bin', 'lib': 'usr/lib'}
    assert binds == ['usr', 'lib64']


# --- outcome -----------------------------------------------------------------------------

RUNC_WRITE = (b'time="2026-01-01T00:00:00Z" level=error msg="runc run failed: unable to start container process: '
              b'unable to init seccomp: SCMP_ACT_NOTIFY cannot be used for the write syscall"\n')


@pytest.mark.parametrize('args, outcome, message', [
    ((True, None, b'', False), 'hang', 'never connected'),
    ((True, None, b'', True), 'hang', 'agent connected'),
    ((False, 1, RUNC_WRITE, False), 'error',
     'runc run failed: unable to start container process: unable to init seccomp: '
     'SCMP_ACT_NOTIFY cannot be used for the write syscall'),
    ((False, 1, b'cgroups in hybrid mode not supported, drop all controllers from cgroupv2\n', False), 'error',
     'cgroups in hybrid mode not supported, drop all controllers from cgroupv2'),
    ((False, 1, b'', False), 'error', 'exited with status 1'),
    ((False, 1, b'level=error msg="seccomp notify unsupported: API level: got 5, want at least 6"', False),
     'unsupported', 'API level'),
    ((False, 1, b'error: unknown seccomp action SCMP_ACT_NOTIFY\n', False), 'unsupported', 'unknown seccomp action'),
    ((False, 0, b'', False), 'error', 'never connected'),
    ((False, 0, b'', True), 'ok', ''),
])
def test_classify(args, outcome, message):
    got, text = _probe_outcome.classify(*args)
    assert got == outcome
    assert message in text


def test_classify_exit_zero_but_not_stopped_is_a_hang():
    # crun 1.5 with create+start returns 0 while the container is stuck: trust the state only.
    assert _probe_outcome.classify(False, 0, b'', True, status='created')[0] == 'hang'
    assert _probe_outcome.classify(False, 0, b'', True, status='stopped')[0] == 'ok'


def test_runtime_message_json_log_and_bound():
    text = b'{"level":"error","msg":"runc run failed: boom","time":"x"}\n'
    assert _probe_outcome.runtime_message(text) == 'runc run failed: boom'
    assert len(_probe_outcome.runtime_message(b'x' * 10000)) == _probe_outcome.MESSAGE_LIMIT


def test_outcome_counts_every_outcome():
    results = [{'outcome': 'ok'}, {'outcome': 'hang'}, {'outcome': 'ok'}, {'outcome': 'inconclusive'}]
    assert _probe.outcome_counts(results) == {'ok': 2, 'hang': 1, 'error': 0, 'unsupported': 0, 'inconclusive': 1}


# --- host helpers on real files ------------------------------------------------------------

def test_mounts_under(tmp_path):
    info = tmp_path / 'mountinfo'
    info.write_text(
        '22 1 0:21 / / rw - ext4 /dev/vda rw\n'
        '30 22 0:5 / /tmp/runcguard-probe-a rw - tmpfs tmpfs rw\n'
        '31 30 0:5 / /tmp/runcguard-probe-a/bundle/rootfs/usr ro - ext4 /dev/vda ro\n'
        '32 22 0:5 / /tmp/runcguard-probe-ab rw - tmpfs tmpfs rw\n'
        '33 22 0:5 / /tmp/runcguard-probe-a/with\\040space rw - tmpfs tmpfs rw\n')
    assert _probe_cleanup.mounts_under('/tmp/runcguard-probe-a', str(info)) == [
        '/tmp/runcguard-probe-a/bundle/rootfs/usr', '/tmp/runcguard-probe-a/with space', '/tmp/runcguard-probe-a']


def test_cgroup_dirs(tmp_path):
    for sub in ('pids/cid', 'memory/cid', 'memory/other', 'unified'):
        (tmp_path / sub).mkdir(parents=True)
    (tmp_path / 'pids' / 'cid' / 'cgroup.procs').write_text('12\n13\n')
    dirs = _probe_cleanup.cgroup_dirs('cid', str(tmp_path))
    assert dirs == [str(tmp_path / 'memory' / 'cid'), str(tmp_path / 'pids' / 'cid')]
    assert _probe_cleanup.cgroup_pids(dirs) == {12, 13}


def test_proc_stat_and_descendants_of_self():
    ppid, sid, start = _probe_cleanup.proc_stat(os.getpid())
    assert ppid == os.getppid() and sid == os.getsid(0) and start > 0
    assert _probe_cleanup.proc_stat(2 ** 22 + 1) is None
    assert os.getpid() in _probe_cleanup.descendants([os.getppid()])


def _write(tmp_path, doc):
    path = tmp_path / 'profile.json'
    path.write_text(json.dumps(doc))
    return str(path)


def test_profile_notify_set(tmp_path):
    path = _write(tmp_path, {'defaultAction': 'SCMP_ACT_ERRNO', 'listenerPath': '/run/agent.sock', 'syscalls': [
        {'names': ['connect', 'fcntl'], 'action': 'SCMP_ACT_NOTIFY'},
        {'names': ['read'], 'action': 'SCMP_ACT_ALLOW'}]})
    assert _probe.profile_notify_set(path) == ['connect', 'fcntl']


@pytest.mark.parametrize('doc, error', [
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ERRNO'}]},
     'no SCMP_ACT_NOTIFY rule'),
    ({'defaultAction': 'SCMP_ACT_NOTIFY', 'syscalls': []}, 'defaultAction'),
])
def test_profile_notify_set_refuses(tmp_path, doc, error):
    with pytest.raises(ValueError, match=error):
        _probe.profile_notify_set(_write(tmp_path, doc))


def test_profile_notify_set_unreadable(tmp_path):
    with pytest.raises(ValueError, match='profile .*missing'):
        _probe.profile_notify_set(str(tmp_path / 'missing.json'))
    bad = tmp_path / 'bad.json'
    bad.write_text('{not json')
    with pytest.raises(ValueError, match='bad.json'):
        _probe.profile_notify_set(str(bad))


def test_default_syscalls_cover_the_hazards():
    names = _probe.default_syscalls()
    for name in ('fcntl', 'sendmsg', 'write', 'connect'):
        assert name in names


def test_runtime_identity_refuses_other_binaries(tmp_path):
    fake = tmp_path / 'youki'
    fake.write_text('#!/bin/sh\necho "youki version 0.3.3"\n')
    fake.chmod(0o755)
    info, refusal = _probe.runtime_identity(str(fake))
    assert 'is not runc or crun' in refusal and 'youki version 0.3.3' in refusal
    assert _probe.runtime_identity(str(tmp_path / 'none'))[1].endswith('is not an executable file')


def test_runtime_identity_bounds_a_hanging_version(tmp_path):
    stuck = tmp_path / 'runc'
    stuck.write_text('#!/bin/sh\nsleep 30\n')
    stuck.chmod(0o755)
    info, refusal = _probe.runtime_identity(str(stuck), timeout=1)
    assert info is None and refusal == '%s --version: timed out after 1s' % stuck


def test_find_runtimes_one_path_per_real_file(tmp_path):
    real = tmp_path / 'sbin' / 'runc'
    real.parent.mkdir()
    real.write_text('#!/bin/sh\n')
    real.chmod(0o755)
    (tmp_path / 'bin').mkdir()
    os.symlink(str(real), str(tmp_path / 'bin' / 'runc'))
    (tmp_path / 'bin' / 'crun').write_text('not executable')
    paths = [str(tmp_path / 'sbin' / 'runc'), str(tmp_path / 'bin' / 'runc'), str(tmp_path / 'bin' / 'crun')]
    assert _probe.find_runtimes(paths) == [str(real)]
    assert '/usr/sbin/runc' in _probe.search_locations()


def test_interrupt_is_deferred_during_cleanup():
    with pytest.raises(_probe_cleanup.ProbeInterrupted, match='signal 15'):
        with _probe_cleanup.deferred_interrupts():
            _probe_cleanup._raise_interrupted(15, None)  # held back: cleanup must finish first
            held = True
    assert held
    with pytest.raises(_probe_cleanup.ProbeInterrupted):
        _probe_cleanup._raise_interrupted(2, None)


def test_no_probe_starts_that_could_end_past_the_total_time_limit(tmp_path, monkeypatch):
    runc = tmp_path / 'runc'
    runc.write_text('#!/bin/sh\necho "runc version 1.1.13"\necho "commit: v1.1.13-0-g58aa9203"\n')
    runc.chmod(0o755)
    started = []

    def fake_probe(path, name, syscalls, nnp, timeout, tmp_parent, **_kwargs):
        started.append((list(syscalls), nnp))
        clock[0] += 4  # each start takes 4 of the 10 seconds the module was given
        return {'outcome': 'ok'}

    clock = [1000.0]
    monkeypatch.setattr(_probe, 'probe', fake_probe)
    monkeypatch.setattr(_probe, 'host_support', lambda: None)
    monkeypatch.setattr(_probe.time, 'time', lambda: clock[0])
    results, skipped = _probe.run_all([str(runc)], [['fcntl'], ['write']], [True, False], 3, deadline=1010.0)
    assert started == [(['fcntl'], True), (['fcntl'], False)]  # a third would end at 1011 > 1010
    assert [r['outcome'] for r in results] == ['ok', 'ok']
    assert [s['message'] for s in skipped] == [
        '%s (write, no_new_privileges=%s)' % (_probe.OUT_OF_TIME, nnp) for nnp in ('true', 'false')
    ]
    assert all(s['runtime'] == str(runc) for s in skipped)
    assert _probe.run_all([str(runc)], [['fcntl']], [True], 3, deadline=None)[0][0]['outcome'] == 'ok'


RACE = ('runc run failed: unable to start container process: unable to start init: fork/exec /proc/self/fd/7: '
        'permission denied')


@pytest.mark.parametrize('failures, starts, outcome', [
    ([RACE], 2, 'ok'),                                            # runc#4294: tried again
    ([RACE] * 3, 4, 'ok'),                                        # and again, up to 4 starts
    ([RACE] * 5, 4, 'error'),                                     # then the race is the answer
    (['SCMP_ACT_NOTIFY cannot be used for the write syscall'], 1, 'error'),  # a real answer: kept
])
def test_only_runcs_transient_init_race_is_started_again(monkeypatch, failures, starts, outcome):
    runs = []

    class FakeCanary(object):
        def __init__(self, *args):
            self.args = args

        def run(self):
            runs.append(self.args)
            if len(runs) <= len(failures):
                return {'outcome': 'error', 'message': failures[len(runs) - 1]}
            return {'outcome': 'ok', 'message': ''}

        def cleanup(self):
            return ['leftover-%d' % len(runs)]

    monkeypatch.setattr(_probe_canary, 'Canary', FakeCanary)
    result = _probe_canary.probe('/usr/sbin/runc', 'runc', ['write'], True, 5)
    assert len(runs) == starts and result['outcome'] == outcome
    assert result['leftovers'] == ['leftover-%d' % n for n in range(1, starts + 1)]  # none forgotten


def test_a_start_lost_to_the_race_is_not_tried_again_past_the_total_time_limit(monkeypatch):
    # a runtime that prints the race after most of its timeout (a user's own runc is the user's to write)
    # made one probe take START_ATTEMPTS timeouts: the module ran past the task, which then lost every result
    clock, runs = [1000.0], []

    class SlowRace(object):
        def __init__(self, *args, **kwargs):
            pass

        def run(self):
            runs.append(clock[0])
            clock[0] += 9
            return {'outcome': 'error', 'message': RACE}

        def cleanup(self):
            return []

    monkeypatch.setattr(_probe_canary, 'Canary', SlowRace)
    monkeypatch.setattr(_probe_canary.time, 'time', lambda: clock[0])
    result = _probe_canary.probe('/usr/sbin/runc', 'runc', ['write'], True, 10, deadline=1010.0)
    assert runs == [1000.0] and result['outcome'] == 'error'  # a second start could end at 1019 > 1010
    runs[:] = []
    _probe_canary.probe('/usr/sbin/runc', 'runc', ['write'], True, 10, deadline=1100.0)
    assert len(runs) == _probe_outcome.START_ATTEMPTS  # time enough: every start the race allows


def _canary(syscalls, timeout=5):
    canary = _probe_canary.Canary.__new__(_probe_canary.Canary)
    canary.syscalls, canary.timeout = sorted(syscalls), timeout
    return canary


@pytest.mark.parametrize('syscalls, outcome, waits, expected', [
    (['restart_syscall', 'rt_sigreturn'], 'hang', None, 'inconclusive'),
    (['rt_sigreturn'], 'error', None, 'inconclusive'),
    (['rt_sigreturn'], 'unsupported', None, 'unsupported'),  # no NOTIFY at all is a fact, not a stall
    (['rt_sigreturn'], 'ok', None, 'ok'),
    (['fcntl', 'rt_sigreturn'], 'hang', {'rt_sigreturn'}, 'inconclusive'),  # timed out, only a signal return waited
    (['fcntl', 'rt_sigreturn'], 'hang', {'fcntl', 'rt_sigreturn'}, 'hang'),
    (['fcntl'], 'hang', None, 'hang'),  # recognised by wchan (not a signal return)
    (['fcntl'], 'hang', set(), 'hang'),  # timed out with no seccomp wait at all: not a signal-return stall
    (['fcntl'], 'error', {'restart_syscall'}, 'error'),
])
def test_a_failure_seen_only_with_signal_returns_is_inconclusive(syscalls, outcome, waits, expected):
    got, message = _canary(syscalls)._signal_return_only(outcome, 'runtime words', waits)
    assert got == expected
    if expected == 'inconclusive':
        assert 'signal return' in message and ('runtime words' in message or 'not counted as a hang' in message)
