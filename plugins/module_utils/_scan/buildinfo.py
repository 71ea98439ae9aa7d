# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the build information a Go toolchain embeds in an ELF binary, without running it.

Private to the collection. Pure stdlib, Python 3.9+; used on targets (runtime_facts) and on the
controller. Every read is a bounded ``pread`` of an already open file: a garbage, huge, truncated or
hostile file costs at most a few megabytes of reads and never raises anything but the result's
``status: error``.

The Go linker writes a 32-byte header that starts with ``\\xff Go buildinf:`` (16-byte aligned, in
the ``.go.buildinfo`` section of the data segment): one byte pointer size, one byte flags. Go 1.18+
(flag 2) puts the Go version and the module information right after the header as two
varint-length-prefixed strings; older toolchains put two pointers to Go string headers there, which
are mapped to file offsets through the program headers. The module information (``go version -m``
shows it) is text between two 16-byte sentinels: ``path``, ``mod``, ``dep``, ``=>`` (replacement)
and ``build key=value`` lines, tab-separated.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat
import struct

MAGIC = b'\xff Go buildinf:'
HEADER_SIZE = 32
ALIGN = 16
# Bounds: the section or segment searched for the header, one string read from it, the parsed lines.
MAX_SEARCH = 64 << 20
MAX_STRING = 1 << 20
MAX_SECTIONS = 4096
MAX_SEGMENTS = 512
MAX_LINES = 4096
MAX_FIELD = 1024
CHUNK = 1 << 20

_PT_LOAD = 1
_PF_W = 2


class _Bad(Exception):
    """Internal: the file is not what its headers say (garbage or truncated)."""


def empty_result(status='absent', reason=None):
    """The result shape of read_build_info (every key always present)."""
    return {
        'status': status,          # found | absent | error
        'reason': reason,          # why absent / error, in words
        'go': None,                # 'go1.22.10' as the toolchain wrote it
        'path': None,              # main package path, e.g. github.com/opencontainers/runc
        'main': None,              # {'path', 'version', 'sum'} of the main module ('mod' line)
        'deps': [],                # [{'path', 'version', 'sum', 'replace': {...} | None}]
        'settings': {},            # 'build' lines: {'-tags': 'seccomp', 'vcs.revision': '...', ...}
    }


def read_build_info(path, max_search=MAX_SEARCH):
    """Build info of the ELF file at ``path`` (opened read-only, O_NOFOLLOW is the caller's business).

    Returns the empty_result() shape: ``status`` ``found`` (fields filled), ``absent`` (a readable
    ELF file without Go build info, e.g. crun, a C binary; ``reason`` says so) or ``error`` (not
    readable, not ELF, truncated, inconsistent; ``reason`` says what).
    """
    flags = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_CLOEXEC', 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return empty_result('error', _os_text(exc))
    try:
        return read_build_info_fd(fd, max_search=max_search)
    finally:
        os.close(fd)


def read_build_info_fd(fd, max_search=MAX_SEARCH):
    """read_build_info for an open file descriptor (the root-confined opener hands one over)."""
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return empty_result('error', 'not a regular file')
        elf = _Elf(fd, st.st_size)
        found = elf.find_header(max_search)
        if found is None:
            return empty_result('absent', 'no Go build information (not a Go binary, or built without it)')
        go, modinfo = elf.decode(found)
        result = empty_result('found')
        result['go'] = _text(go) or None
        _parse_modinfo(_strip_sentinels(modinfo), result)
        return result
    except _Bad as exc:
        return empty_result('error', str(exc))
    except OSError as exc:
        return empty_result('error', _os_text(exc))


def _os_text(exc):
    texts = {errno.ENOENT: 'does not exist', errno.EACCES: 'permission denied', errno.ELOOP: 'symlink loop',
             errno.EISDIR: 'is a directory', errno.EIO: 'I/O error'}
    return texts.get(exc.errno) or exc.strerror or str(exc)


class _Elf(object):
    """Just enough ELF to find the build-info header and map addresses to file offsets."""

    def __init__(self, fd, size):
        self.fd = fd
        self.size = size
        if os.pread(fd, 4, 0) != b'\x7fELF':
            raise _Bad('not an ELF file')
        ident = self.read(0, 64, 'ELF header')
        cls, data = ident[4], ident[5]
        if cls not in (1, 2) or data not in (1, 2):
            raise _Bad('not an ELF file (unknown class %d / byte order %d)' % (cls, data))
        self.bits = 64 if cls == 2 else 32
        self.end = '<' if data == 1 else '>'
        if self.bits == 64:
            phoff, shoff = struct.unpack(self.end + 'QQ', ident[32:48])
            phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack(self.end + 'HHHHH', ident[54:64])
        else:
            phoff, shoff = struct.unpack(self.end + 'II', ident[28:36])
            phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack(self.end + 'HHHHH', ident[42:52])
        self.segments = self._segments(phoff, phentsize, phnum)
        self.sections = self._sections(shoff, shentsize, shnum, shstrndx)

    def read(self, offset, length, what):
        """Exactly ``length`` bytes at ``offset`` or _Bad (truncated file)."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise _Bad('truncated or inconsistent ELF file: %s at offset %d (+%d) is past its end (%d bytes)'
                       % (what, offset, length, self.size))
        chunks, done = [], 0
        while done < length:
            chunk = os.pread(self.fd, min(length - done, CHUNK), offset + done)
            if not chunk:
                raise _Bad('truncated ELF file: %s at offset %d ended early' % (what, offset))
            chunks.append(chunk)
            done += len(chunk)
        return b''.join(chunks)

    def _segments(self, phoff, phentsize, phnum):
        if not phnum:
            return []
        want = 56 if self.bits == 64 else 32
        if phentsize < want or phnum > MAX_SEGMENTS:
            raise _Bad('inconsistent ELF program headers (%d of %d bytes)' % (phnum, phentsize))
        table = self.read(phoff, phentsize * phnum, 'program headers')
        out = []
        for index in range(phnum):
            raw = table[index * phentsize:index * phentsize + want]
            if self.bits == 64:
                p_type, p_flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack(self.end + 'IIQQQQ', raw[:40])
            else:
                fields = struct.unpack(self.end + 'IIIIIII', raw[:28])
                p_type, p_offset, p_vaddr, _paddr, p_filesz, _memsz, p_flags = fields
            if p_type == _PT_LOAD:
                out.append((p_vaddr, p_offset, p_filesz, p_flags))
        return out

    def _sections(self, shoff, shentsize, shnum, shstrndx):
        """{name: (offset, size)} of the sections, {} when the file has no section table."""
        if not shnum or not shoff:
            return {}
        want = 64 if self.bits == 64 else 40
        if shentsize < want or shnum > MAX_SECTIONS or shstrndx >= shnum:
            raise _Bad('inconsistent ELF section headers (%d of %d bytes)' % (shnum, shentsize))
        table = self.read(shoff, shentsize * shnum, 'section headers')
        rows = []
        for index in range(shnum):
            raw = table[index * shentsize:index * shentsize + want]
            if self.bits == 64:
                name, sh_type, _flags, _addr, offset, size = struct.unpack(self.end + 'IIQQQQ', raw[:40])
            else:
                name, sh_type, _flags, _addr, offset, size = struct.unpack(self.end + 'IIIIII', raw[:24])
            rows.append((name, sh_type, offset, size))
        _n, _t, str_off, str_size = rows[shstrndx]
        names = self.read(str_off, min(str_size, MAX_STRING), 'section names')
        out = {}
        for name, sh_type, offset, size in rows:
            if sh_type == 8:  # SHT_NOBITS (.bss): no bytes in the file
                continue
            end = names.find(b'\x00', name)
            if name < len(names) and end > name:
                out.setdefault(names[name:end].decode('ascii', 'replace'), (offset, size))
        return out

    def find_header(self, max_search):
        """File offset of the build-info header, or None when the file has none.

        The ``.go.buildinfo`` section when there is one, else the writable loaded segments (where
        the linker puts it) in bounded chunks; the header is 16-byte aligned in either.
        """
        if '.go.buildinfo' in self.sections:
            offset, size = self.sections['.go.buildinfo']
            found = self._search(offset, min(size, max_search), max_search)
            if found is not None:
                return found
        budget = max_search
        for _vaddr, offset, filesz, flags in self.segments:
            if not flags & _PF_W or budget <= 0:
                continue
            found = self._search(offset, min(filesz, budget), budget)
            budget -= filesz
            if found is not None:
                return found
        return None

    def _search(self, start, length, budget):
        length = min(length, max(self.size - start, 0), budget)
        pos = start
        while pos < start + length:
            size = min(CHUNK, start + length - pos)
            data = os.pread(self.fd, size + len(MAGIC), pos)
            index = data.find(MAGIC)
            while index != -1:
                if (index + pos - start) % ALIGN == 0 and index < size:
                    return pos + index
                index = data.find(MAGIC, index + 1)
            pos += size
        return None

    def decode(self, offset):
        """(go version bytes, module info bytes) from the header at ``offset``."""
        header = self.read(offset, HEADER_SIZE, 'Go build-info header')
        ptr_size, flags = header[14], header[15]
        if flags & 2:  # Go 1.18+: two varint-prefixed strings right after the header
            go, pos = self._inline_string(offset + HEADER_SIZE)
            modinfo, _pos = self._inline_string(pos)
            return go, modinfo
        if ptr_size not in (4, 8):
            raise _Bad('Go build-info header with pointer size %d' % ptr_size)
        end = '>' if flags & 1 else '<'
        fmt = end + ('Q' if ptr_size == 8 else 'I')
        go_addr = struct.unpack(fmt, header[16:16 + ptr_size])[0]
        mod_addr = struct.unpack(fmt, header[16 + ptr_size:16 + 2 * ptr_size])[0]
        return self._go_string(go_addr, ptr_size, fmt), self._go_string(mod_addr, ptr_size, fmt)

    def _inline_string(self, pos):
        head = self.read(pos, min(10, max(self.size - pos, 0)), 'Go build-info string length')
        length, shift, used = 0, 0, 0
        for byte in bytearray(head):
            used += 1
            length |= (byte & 0x7f) << shift
            if not byte & 0x80:
                break
            shift += 7
        else:
            raise _Bad('Go build-info string length is not a valid varint')
        if length > MAX_STRING:
            raise _Bad('Go build-info string of %d bytes (more than %d)' % (length, MAX_STRING))
        return self.read(pos + used, length, 'Go build-info string'), pos + used + length

    def _go_string(self, addr, ptr_size, fmt):
        header = self.read(self._offset(addr, 2 * ptr_size), 2 * ptr_size, 'Go string header')
        data = struct.unpack(fmt, header[:ptr_size])[0]
        length = struct.unpack(fmt, header[ptr_size:])[0]
        if length > MAX_STRING:
            raise _Bad('Go build-info string of %d bytes (more than %d)' % (length, MAX_STRING))
        if not length:
            return b''
        return self.read(self._offset(data, length), length, 'Go build-info string')

    def _offset(self, addr, length):
        for vaddr, offset, filesz, _flags in self.segments:
            if vaddr <= addr and addr + length <= vaddr + filesz:
                return offset + addr - vaddr
        raise _Bad('Go build-info address 0x%x is outside the file\'s loaded segments' % addr)


def _strip_sentinels(modinfo):
    """The module text between the linker's 16-byte sentinels ('' when they are not there)."""
    if len(modinfo) >= 33 and modinfo[-17:-16] == b'\n':
        return modinfo[16:-16]
    return b''


def _text(data):
    """Bytes as printable text of at most MAX_FIELD characters (control characters escaped)."""
    text = data.decode('utf-8', 'backslashreplace')[:MAX_FIELD]
    return ''.join(c if c >= ' ' and c != '\x7f' else '\\x%02x' % ord(c) for c in text)


def _unquote(value):
    """A Go strconv.Quote'd build key or value, as Go writes one when it holds spaces or quotes."""
    if len(value) < 2 or not (value.startswith('"') and value.endswith('"')):
        return value
    import json
    try:
        out = json.loads(value)
    except ValueError:
        return value
    return out if isinstance(out, str) else value


def _module(fields):
    path = fields[1] if len(fields) > 1 else ''
    version = fields[2] if len(fields) > 2 else ''
    total = fields[3] if len(fields) > 3 else ''
    return {'path': path, 'version': version or None, 'sum': total or None}


def _parse_modinfo(data, result):
    """Fill path/main/deps/settings of ``result`` from the module text (bounded, never raises)."""
    last = None
    for count, raw in enumerate(data.split(b'\n')):
        if count >= MAX_LINES:
            result['reason'] = 'module information cut at %d lines' % MAX_LINES
            break
        if not raw:
            continue
        fields = [_text(field) for field in raw.split(b'\t')]
        kind, rest = fields[0], '\t'.join(fields[1:])
        if kind == 'path':
            result['path'] = rest or None
        elif kind == 'mod':
            last = result['main'] = _module(fields)
            last['replace'] = None
        elif kind == 'dep':
            last = _module(fields)
            last['replace'] = None
            result['deps'].append(last)
        elif kind == '=>' and last is not None:
            last['replace'] = _module(fields)
        elif kind == 'build':
            key, eq, value = rest.partition('=')
            if rest.startswith('"'):  # quoted key: find its closing quote
                close = rest.find('"=', 1)
                if close > 0:
                    key, eq, value = rest[:close + 1], '=', rest[close + 2:]
            if eq:
                result['settings'].setdefault(_unquote(key), _unquote(value))
    if result['main'] is None and result['path'] is None and not result['settings']:
        result['reason'] = result['reason'] or 'Go build information without module information'


def vcs(info):
    """(revision or None, modified: True/False/None) from a found result's build settings."""
    settings = info.get('settings') or {}
    revision = settings.get('vcs.revision') or None
    modified = settings.get('vcs.modified')
    return revision, {'true': True, 'false': False}.get(modified)


def dependency(info, path):
    """The version of dependency ``path`` (a replacement's when replaced), or None."""
    for dep in info.get('deps') or ():
        if dep.get('path') == path:
            replace = dep.get('replace')
            return (replace or {}).get('version') or dep.get('version')
    return None
