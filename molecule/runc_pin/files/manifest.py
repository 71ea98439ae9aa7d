"""Print a manifest of everything runc_pin may touch on a test host: every file and directory
(path, type, mode, sha256 or link target) under the watched trees, plus the relevant packages'
versions and dpkg selections. Two equal manifests mean the host is back byte for byte."""
import hashlib
import os
import subprocess

TREES = ['/etc/apt/preferences.d', '/etc/containerd', '/etc/docker', '/etc/crio', '/etc/containers',
         '/usr/local/sbin', '/usr/sbin/runc', '/usr/bin/runc', '/var/lib/runcguard']
PACKAGES = ['runc', 'containerd.io', 'docker-ce']


def describe(path):
    st = os.lstat(path)
    mode = oct(st.st_mode & 0o7777)
    if os.path.islink(path):
        return 'link %s %s -> %s' % (path, mode, os.readlink(path))
    if os.path.isdir(path):
        return 'dir  %s %s %d:%d' % (path, mode, st.st_uid, st.st_gid)
    with open(path, 'rb') as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    return 'file %s %s %d:%d %s' % (path, mode, st.st_uid, st.st_gid, digest)


def main():
    lines = []
    for top in TREES:
        if not os.path.lexists(top):
            lines.append('none %s' % top)
            continue
        lines.append(describe(top))
        if os.path.isdir(top) and not os.path.islink(top):
            for root, dirs, files in os.walk(top):
                for name in sorted(dirs) + sorted(files):
                    lines.append(describe(os.path.join(root, name)))
    for name in PACKAGES:
        res = subprocess.run(['dpkg-query', '-W', '-f=${Package} ${Version} ${Status}', name],
                             capture_output=True, text=True, timeout=30, check=False, env={'LANG': 'C', 'PATH': os.environ.get('PATH', '/usr/bin:/bin')})
        lines.append('pkg  %s' % (res.stdout.strip() or name + ' not-installed'))
    print('\n'.join(sorted(lines)))


if __name__ == '__main__':
    main()
