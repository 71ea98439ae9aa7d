"""Write Packages and Release for a flat apt repository of .deb files (test scenario helper).

Usage: mkrepo.py DIR. Reads each DIR/*.deb's control fields with `dpkg-deb -f` and adds
Filename, Size and SHA256, so no apt-utils/dpkg-dev is needed on the controller.
"""
import glob
import hashlib
import os
import subprocess
import sys


def sha256(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def main(repo):
    stanzas = []
    for deb in sorted(glob.glob(os.path.join(repo, '*.deb'))):
        control = subprocess.run(['dpkg-deb', '-f', deb], check=True, capture_output=True, text=True,
                                 env=dict(os.environ, LANG='C', LC_ALL='C'), timeout=60).stdout.rstrip('\n')
        stanzas.append('%s\nFilename: ./%s\nSize: %d\nSHA256: %s\n' % (
            control, os.path.basename(deb), os.path.getsize(deb), sha256(deb)))
    packages = os.path.join(repo, 'Packages')
    with open(packages, 'w') as handle:
        handle.write('\n'.join(stanzas))
    with open(os.path.join(repo, 'Release'), 'w') as handle:
        handle.write('Origin: runcguard-test\nLabel: runcguard-test\nSuite: stable\n'
                     'Date: Thu, 01 Jan 2026 00:00:00 UTC\nSHA256:\n %s %d Packages\n'
                     % (sha256(packages), os.path.getsize(packages)))


if __name__ == '__main__':
    main(sys.argv[1])
