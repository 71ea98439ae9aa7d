# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seccomp user-notification kernel ABI for the NOTIFY canary (include/uapi/linux/seccomp.h).

Ioctl numbers, struct layouts and the kernel checks that decide whether this host can serve
``SCMP_ACT_NOTIFY`` with ``SECCOMP_USER_NOTIF_FLAG_CONTINUE``. Pure stdlib (ctypes), Linux only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import ctypes.util
import errno
import os
import re
import struct

SECCOMP_GET_NOTIF_SIZES = 3
SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1
# sizeof() in the UAPI header: these are baked into the ioctl numbers, whatever the kernel's
# current struct sizes (SECCOMP_GET_NOTIF_SIZES) are.
SECCOMP_DATA_SIZE = 64            # int nr; u32 arch; u64 ip; u64 args[6]
SECCOMP_NOTIF_SIZE = 80           # u64 id; u32 pid; u32 flags; struct seccomp_data
SECCOMP_NOTIF_RESP_SIZE = 24      # u64 id; s64 val; s32 error; u32 flags
NOTIF_HEAD = struct.Struct('=QII')
NOTIF_RESP = struct.Struct('=QqiI')

# seccomp(2) syscall numbers by `uname -m`.
SECCOMP_SYSCALL_NR = {
    'x86_64': 317, 'i386': 354, 'i686': 354, 'aarch64': 277, 'arm64': 277, 'armv7l': 383,
    'armv6l': 383, 'ppc64le': 358, 'ppc64': 358, 's390x': 348, 'riscv64': 277, 'loongarch64': 277,
}
# Arches whose _IOC uses 13 size bits and 3 direction bits (NONE=1, READ=2, WRITE=4).
_IOC_ALT_ARCHES = ('ppc', 'ppc64', 'ppc64le', 'mips', 'mips64', 'sparc', 'sparc64')


def ioc(direction, kind, nr, size, arch):
    """Linux _IOC(); direction is 'r', 'w' or 'rw' (read = kernel writes to user)."""
    if arch in _IOC_ALT_ARCHES:
        bits = {'r': 2, 'w': 4, 'rw': 6}[direction]
        return (bits << 29) | (size << 16) | (ord(kind) << 8) | nr
    bits = {'w': 1, 'r': 2, 'rw': 3}[direction]
    return (bits << 30) | (size << 16) | (ord(kind) << 8) | nr


def notif_ioctls(arch):
    """SECCOMP_IOCTL_NOTIF_{RECV,SEND,ID_VALID} for one arch."""
    return {
        'recv': ioc('rw', '!', 0, SECCOMP_NOTIF_SIZE, arch),
        'send': ioc('rw', '!', 1, SECCOMP_NOTIF_RESP_SIZE, arch),
        'id_valid': ioc('w', '!', 2, 8, arch),
    }


def pack_continue(notif_id, resp_size=SECCOMP_NOTIF_RESP_SIZE):
    """A seccomp_notif_resp that lets the syscall run as if no filter were there."""
    data = NOTIF_RESP.pack(notif_id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE)
    return data + b'\0' * max(0, resp_size - len(data))


def unpack_notif(buf):
    """(id, pid, syscall nr) from a seccomp_notif buffer."""
    notif_id, pid, _flags = NOTIF_HEAD.unpack_from(buf, 0)
    nr = struct.unpack_from('=i', buf, NOTIF_HEAD.size)[0]
    return notif_id, pid, nr


def libc():
    return ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)


def notif_sizes(arch=None):
    """Kernel struct sizes via seccomp(SECCOMP_GET_NOTIF_SIZES): dict, or raise OSError."""
    arch = arch or os.uname()[4]
    nr = SECCOMP_SYSCALL_NR.get(arch)
    if nr is None:
        raise OSError(errno.ENOSYS, 'no seccomp(2) syscall number known for arch %s' % arch)
    sizes = (ctypes.c_uint16 * 3)()
    lib = libc()
    lib.syscall.restype = ctypes.c_long
    if lib.syscall(ctypes.c_long(nr), ctypes.c_uint(SECCOMP_GET_NOTIF_SIZES), ctypes.c_uint(0), ctypes.byref(sizes)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return {'seccomp_notif': sizes[0], 'seccomp_notif_resp': sizes[1], 'seccomp_data': sizes[2]}


def kernel_key(release):
    match = re.match(r'(\d+)\.(\d+)', release or '')
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def host_support(arch=None, release=None):
    """None when this kernel can serve NOTIFY with CONTINUE, else the reason it cannot."""
    release = release or os.uname()[2]
    try:
        notif_sizes(arch)
    except OSError as exc:
        return 'kernel %s cannot report seccomp notification sizes (%s): no SCMP_ACT_NOTIFY support' % (release, exc.strerror)
    if kernel_key(release) < (5, 5):
        return 'kernel %s lacks SECCOMP_USER_NOTIF_FLAG_CONTINUE (needs 5.5)' % release
    return None
