# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_files: bounded reading on real files, FIFOs, sockets, loops (tests run as root)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import (
    FileProblem, is_scratch, is_socket, list_dir, printable, read_bounded, read_text, utf8_safe, walk_files,
)


def _problem(path, size=100):
    with pytest.raises(FileProblem) as info:
        read_bounded(str(path), size)
    return info.value.message


def test_reads_regular_file_and_follows_symlink(tmp_path):
    target = tmp_path / 'p.json'
    target.write_bytes(b'{"a": 1}')
    (tmp_path / 'link.json').symlink_to('p.json')
    assert read_bounded(str(tmp_path / 'link.json'), 100) == b'{"a": 1}'
    assert read_bounded(str(target), 8) == b'{"a": 1}'  # exactly the limit is fine


def test_oversized_file_is_refused(tmp_path):
    big = tmp_path / 'big.json'
    big.write_bytes(b' ' * 101)
    assert 'too large: 101 bytes' in _problem(big, 100)


def test_fifo_does_not_block_and_is_refused(tmp_path):
    fifo = tmp_path / 'fifo.json'
    os.mkfifo(str(fifo))
    assert 'FIFO' in _problem(fifo)


def test_directory_missing_loop_and_socket(tmp_path):
    assert 'is a directory' in _problem(tmp_path)
    assert 'does not exist' in _problem(tmp_path / 'nope.json')
    (tmp_path / 'a').symlink_to('b')
    (tmp_path / 'b').symlink_to('a')
    assert 'symlink loop' in _problem(tmp_path / 'a')
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / 's.sock'))
        assert 'socket' in _problem(tmp_path / 's.sock')
        assert is_socket(str(tmp_path / 's.sock')) is True
    finally:
        sock.close()
    assert is_socket(str(tmp_path)) is False
    assert is_socket(str(tmp_path / 'missing')) is False


def test_read_text_rejects_non_utf8(tmp_path):
    bad = tmp_path / 'bad.conf'
    bad.write_bytes(b'runtime = "\xff\xfe"\n')
    with pytest.raises(FileProblem) as info:
        read_text(str(bad), 100)
    assert 'not valid UTF-8' in info.value.message


def test_list_dir_and_walk(tmp_path):
    assert list_dir(str(tmp_path / 'missing')) == []
    (tmp_path / 'd' / 'operator' / 'ns').mkdir(parents=True)
    (tmp_path / 'd' / 'b.json').write_text('{}')
    (tmp_path / 'd' / 'operator' / 'ns' / 'a.json').write_text('{}')
    (tmp_path / 'd' / 'loop').symlink_to('.')  # a directory symlink is not followed
    found = sorted(os.path.relpath(p, str(tmp_path / 'd')) for p, err in walk_files(str(tmp_path / 'd')))
    assert found == ['b.json', 'loop', 'operator/ns/a.json']


# --- writing ------------------------------------------------------------------------------------
def test_scratch_names_are_recognised():
    assert is_scratch('.prof.json.runcguard-lock')
    assert is_scratch('.prof.json.runcguard-0a1b2c3d4e5f.tmp')
    assert is_scratch('.prof.json.k2j_8x0a.tmp')  # tempfile.mkstemp name of older releases
    assert not is_scratch('prof.json') and not is_scratch('.hidden.json') and not is_scratch('prof.json.tmp')


def test_printable_names():
    bad = os.fsdecode(b'/k/prof\xff.json')
    assert printable(bad) == '/k/prof\\xff.json'
    assert printable('a\ud800b') == 'a\\ud800b' and printable('caf\u00e9') == 'caf\u00e9'
    assert utf8_safe({bad: [bad, 1, None]}) == {'/k/prof\\xff.json': ['/k/prof\\xff.json', 1, None]}
