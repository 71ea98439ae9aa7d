# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One user cannot stretch the host's scan: a real user whose ~/.config/docker/daemon.json names many
runtimes, each a script whose --version never returns (no Go build information, so it is run as the
user). The runtimes read per user and the seconds their --version runs take are capped; past a cap
the entries say so and the scan goes on; nothing the user's runtimes started is left running.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from rootless_users import User, pids_of

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import discovery as _discovery
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import user_engines, user_runtimes, users

HANGS = '#!/bin/sh\nexec sleep 1000\n'
NAMED = 20


@pytest.fixture(scope='module')
def stalling_user():
    user = User('lead-dos')
    try:
        runtimes = {}
        for i in range(NAMED):
            path = user.write('.local/libexec/rt%02d' % i, HANGS, mode=0o755)
            runtimes['rt%02d' % i] = {'path': path}
        user.write('.config/docker/daemon.json', json.dumps({'runtimes': runtimes}))
        yield user
    finally:
        user.remove()


def test_many_stalling_runtimes_of_one_user_are_capped(stalling_user, monkeypatch):
    user = stalling_user
    monkeypatch.setattr(user_runtimes, 'VERSION_SECONDS_PER_USER', 3)
    facts = _discovery.gather(users=[user.name], command_timeout=2)
    mine = [r for r in facts['runtimes'] if r['path'].startswith(user.home + '/.local/libexec/')]
    # the cap: the first MAX_RUNTIMES_PER_USER paths are read, one error entry names the rest
    assert len(mine) == user_runtimes.MAX_RUNTIMES_PER_USER
    capped = [e for e in facts['scan']['errors'] if 'runtime cap reached' in e['error']]
    assert len(capped) == 1 and '%d more' % (NAMED - len(mine)) in capped[0]['error']
    assert capped[0]['owner'] == user.owner
    # the time budget: the first runs time out (run as the user), the rest are not started at all
    timed_out = [r for r in mine if 'timed out' in (r['error'] or '')]
    not_run = [r for r in mine if (r['error'] or '').startswith('not run: ')]
    assert 1 <= len(timed_out) <= 2
    assert len(timed_out) + len(not_run) == len(mine)
    assert all('user %s spent theirs' % user.name in r['error'] for r in not_run)
    left = [open("/proc/%d/cmdline" % p, "rb").read() for p in pids_of(user.uid)]
    assert left == []  # no --version of the user's outlives the scan


def test_thousands_of_missing_runtimes_keep_the_facts_small():
    user = User('lead-many')
    try:
        named = dict(('r%04d' % i, {'path': '/nonexistent/r%04d' % i}) for i in range(5000))
        user.write('.config/docker/daemon.json', json.dumps({'runtimes': named}))
        facts = _discovery.gather(users=[user.name])
    finally:
        user.remove()
    docker = [u for u in facts['users'] if u['name'] == user.name][0]['engines']['docker']
    assert len(docker['runtimes']) == user_engines.MAX_NAMED_RUNTIMES
    mine = [e for e in facts['scan']['errors'] if (e.get('owner') or {}).get('name') == user.name]
    assert len(mine) <= users.MAX_ERRORS_PER_USER + 1
    assert 'names 5000 runtimes; the first %d' % user_engines.MAX_NAMED_RUNTIMES in mine[0]['error']
    assert 'runtime cap reached' in mine[-1]['error']
    assert len([r for r in facts['runtimes'] if r['path'].startswith('/nonexistent/')]) \
        <= user_runtimes.MAX_RUNTIMES_PER_USER
    assert len(json.dumps(facts)) < 200000


def test_a_users_error_entries_are_capped_with_one_entry_for_the_rest():
    scan = users.UserScan({'name': 'alice', 'uid': 1500, 'home': '/home/alice', 'runtime_dir': '/run/user/1500'})
    for i in range(users.MAX_ERRORS_PER_USER + 7):
        scan.error('/home/alice/p%d' % i, 'not found')
    assert len(scan.errors) == users.MAX_ERRORS_PER_USER + 1
    assert scan.errors[-1]['path'] == '/home/alice/p%d' % users.MAX_ERRORS_PER_USER
    assert scan.errors[-1]['error'] == ('error cap reached: 7 more problems in the setup of user alice, from this '
                                        'path on, are not listed')
