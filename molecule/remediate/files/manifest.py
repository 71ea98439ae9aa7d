#!/usr/bin/env python3
"""Print what remediation may touch on a remediate test host: every file/dir under the watched
trees (path, type, mode, owner, sha256 or link target) and the runc package's version and dpkg
selection. Two equal manifests mean nothing changed."""
import hashlib
import os
import subprocess

TREES = ['/etc/runcguard-test', '/etc/runcguard-ro', '/etc/apt/preferences.d', '/etc/containerd',
         '/usr/local/sbin', '/usr/sbin/runc', '/usr/bin/runc', '/var/lib/runcguard']


def describe(path):
    st = os.lstat(path)
    head = '%s %s %d:%d' % (path, oct(st.st_mode & 0o7777), st.st_uid, st.st_gid)
    if os.path.islink(path):
        return 'link %s -> %s' % (head, os.readlink(path))
    if os.path.isdir(path):
        return 'dir  %s' % head
    with open(path, 'rb') as handle:
        return 'file %s %s' % (head, hashlib.sha256(handle.read()).hexdigest())


def main():
    lines = []
    for top in TREES:
        if not os.path.lexists(top):
            lines.append('none %s' % top)
            continue
        lines.append(describe(top))
        if os.path.isdir(top) and not os.path.islink(top):
            for root, dirs, files in os.walk(top):
                for name in dirs + files:
                    lines.append(describe(os.path.join(root, name)))
    res = subprocess.run(['dpkg-query', '-W', '-f=${Package} ${Version} ${Status}', 'runc'], capture_output=True,
                         text=True, timeout=30, env={'LANG': 'C', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'})
    lines.append('pkg  %s' % (res.stdout.strip() or 'runc not-installed'))
    print('\n'.join(sorted(lines)))


if __name__ == '__main__':
    main()
