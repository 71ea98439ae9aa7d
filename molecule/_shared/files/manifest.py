"""Print a manifest of a test host's state: every file and directory under the given trees (type,
path, mode, owner, sha256 or link target) and the given packages' versions and dpkg selections.
Two equal manifests mean the host is back byte for byte.

Usage (ansible.builtin.script with executable python3):
    manifest.py --packages runc,containerd.io TREE [TREE ...]
"""
import hashlib
import os
import subprocess
import sys


def describe(path):
    st = os.lstat(path)
    head = '%s %s %d:%d' % (path, oct(st.st_mode & 0o7777), st.st_uid, st.st_gid)
    if os.path.islink(path):
        return 'link %s -> %s' % (head, os.readlink(path))
    if os.path.isdir(path):
        return 'dir  %s' % head
    with open(path, 'rb') as handle:
        return 'file %s %s' % (head, hashlib.sha256(handle.read()).hexdigest())


def main(argv):
    packages = []
    if argv[:1] == ['--packages']:
        packages = [p for p in argv[1].split(',') if p]
        argv = argv[2:]
    lines = []
    for top in argv:
        if not os.path.lexists(top):
            lines.append('none %s' % top)
            continue
        lines.append(describe(top))
        if os.path.isdir(top) and not os.path.islink(top):
            for root, dirs, files in os.walk(top):
                for name in dirs + files:
                    lines.append(describe(os.path.join(root, name)))
    for name in packages:
        res = subprocess.run(['dpkg-query', '-W', '-f=${Package} ${Version} ${Status}', name],
                             capture_output=True, text=True, timeout=30, check=False,
                             env={'LANG': 'C', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'})
        lines.append('pkg  %s' % (res.stdout.strip() or name + ' not-installed'))
    print('\n'.join(sorted(lines)))


if __name__ == '__main__':
    main(sys.argv[1:])
