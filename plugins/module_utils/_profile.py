# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seccomp profile decoding, format detection and effective SCMP_ACT_NOTIFY analysis.

Three on-disk shapes are understood:

* ``oci``    - an OCI ``LinuxSeccomp`` object (kubelet Localhost profiles, nerdctl/bypass4netns);
* ``docker`` - Docker / containers-common format (``name``, ``archMap``, ``includes``/``excludes``);
* ``bundle`` - an OCI runtime bundle ``config.json``; the profile is ``linux.seccomp``.

Who reads a profile decides what it means. Docker, podman and CRI-O expand the Docker keys
(``includes``/``excludes`` filter rules by arch, capabilities and kernel). containerd, nerdctl and
kubelet-with-containerd decode it as OCI and ignore those keys, so every rule applies. When the
reader is unknown both readings are taken and their union is reported: a hazard that is real
for either reader is reported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

NOTIFY = 'SCMP_ACT_NOTIFY'
# The one home of the profile readers (who reads a profile, by the name an origin gives it):
# Docker, podman and CRI-O expand Docker-format keys (containers-common is their shared default
# file); containerd-based readers, plain OCI readers and running bundles do not; kubelet reads a
# profile as its CRI runtime does. PROFILE_READERS: those a profile_paths item may name.
EXPANDING_READERS = frozenset(('docker', 'podman', 'cri-o', 'crio', 'containers-common'))
LITERAL_READERS = frozenset(('containerd', 'nerdctl', 'kubelet', 'k3s', 'rke2', 'oci', 'bundle'))
PROFILE_READERS = ('docker', 'podman', 'cri-o', 'containerd', 'kubelet', 'oci')

# uname -m -> every spelling a profile may use for that arch (Go, libseccomp).
_ARCH_ALIASES = {
    'x86_64': ('x86_64', 'amd64', 'SCMP_ARCH_X86_64'),
    'aarch64': ('aarch64', 'arm64', 'SCMP_ARCH_AARCH64'),
    'armv7l': ('arm', 'armv7l', 'SCMP_ARCH_ARM'),
    'armv6l': ('arm', 'armv6l', 'SCMP_ARCH_ARM'),
    'i686': ('386', 'i686', 'x86', 'SCMP_ARCH_X86'),
    'i386': ('386', 'i386', 'x86', 'SCMP_ARCH_X86'),
    'ppc64le': ('ppc64le', 'SCMP_ARCH_PPC64LE'),
    's390x': ('s390x', 'SCMP_ARCH_S390X'),
    'riscv64': ('riscv64', 'SCMP_ARCH_RISCV64'),
    'mips64': ('mips64', 'SCMP_ARCH_MIPS64'),
    'loongarch64': ('loong64', 'loongarch64', 'SCMP_ARCH_LOONGARCH64'),
}
THIRTY_TWO_BIT_ARCHES = frozenset(('i386', 'i686', 'armv6l', 'armv7l', 'arm', 'x86', '386', 'mips', 'ppc'))


class ProfileError(Exception):
    """A profile that cannot be used; the message says exactly why."""


def arch_aliases(arch):
    if not arch:
        return ()
    return _ARCH_ALIASES.get(arch, (arch,))


def is_32bit(arch):
    return bool(arch) and arch in THIRTY_TWO_BIT_ARCHES


def decode_profile(data, duplicates=None):
    """Bytes -> (document, format). Raises ProfileError for anything that is not a usable profile.

    Duplicate keys are read as Go's encoding/json (every runtime and engine) reads them: the last
    value wins, two objects merge. Pass a list as ``duplicates`` to get their JSON paths.
    """
    if isinstance(data, str):
        text = data
    else:
        if b'\x00' in data[:8192]:
            raise ProfileError('binary content (NUL bytes), not a JSON profile')
        try:
            text = data.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise ProfileError('not valid UTF-8 (byte offset %d)' % exc.start)
    if text.startswith('\ufeff'):
        text = text[1:]
    if not text.strip():
        raise ProfileError('empty file')
    repeated = {}
    try:
        doc = json.loads(text, object_pairs_hook=lambda pairs: _go_object(pairs, repeated))
    except ValueError as exc:
        raise ProfileError('malformed JSON: %s' % exc)
    except RecursionError:
        raise ProfileError('malformed JSON: nested too deeply')
    if not isinstance(doc, dict):
        raise ProfileError('top level is a JSON %s, not an object' % type(doc).__name__.replace('dict', 'object'))
    if _SURROGATE_ESCAPE.search(text) or _SURROGATE.search(text):
        where = _find_surrogate(doc, '$')
        if where:
            raise ProfileError('%s holds an unpaired UTF-16 surrogate escape (%s): not a valid Unicode string'
                               % (where[0], where[1]))
    if repeated and duplicates is not None:
        duplicates.extend(_paths_of(doc, '$', repeated))
    fmt = detect_format(doc)
    validate(seccomp_section(doc, fmt), fmt)
    return doc, fmt


_SURROGATE_ESCAPE = re.compile(r'\\u[dD][89a-fA-F]')
_SURROGATE = re.compile('[\ud800-\udfff]')


def _go_object(pairs, repeated):
    obj = {}
    for key, value in pairs:
        if key in obj:
            repeated.setdefault(id(obj), (obj, []))[1].append(key)
            value = _go_merge(obj[key], value)
        obj[key] = value
    return obj


def _go_merge(old, new):
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(old)
        for key, value in new.items():
            merged[key] = _go_merge(merged[key], value) if key in merged else value
        return merged
    return new


def _walk(value, path):
    yield value, path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, '%s.%s' % (path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, '%s[%d]' % (path, index))


def _paths_of(doc, root, repeated):
    out = []
    for value, path in _walk(doc, root):
        if isinstance(value, dict) and id(value) in repeated and repeated[id(value)][0] is value:
            out.extend('%s.%s' % (path, key) for key in repeated[id(value)][1])
    return out


def _find_surrogate(doc, root):
    for value, path in _walk(doc, root):
        keys = list(value) if isinstance(value, dict) else []
        for text in [value] + keys:
            if isinstance(text, str) and _SURROGATE.search(text):
                return path, text.encode('utf-8', 'backslashreplace').decode('ascii', 'backslashreplace')[:60]
    return None


def detect_format(doc):
    if 'ociVersion' in doc or isinstance(doc.get('linux'), dict) or 'process' in doc:
        return 'bundle'
    if 'archMap' in doc:
        return 'docker'
    for rule in doc.get('syscalls') or ():
        if isinstance(rule, dict) and ('includes' in rule or 'excludes' in rule or 'name' in rule):
            return 'docker'
    return 'oci'


def seccomp_section(doc, fmt):
    """The seccomp object inside a document, or None for a bundle that runs without seccomp."""
    if fmt != 'bundle':
        return doc
    linux = doc.get('linux')
    if linux is None:
        return None
    if not isinstance(linux, dict):
        raise ProfileError('linux must be an object')
    section = linux.get('seccomp')
    if section is not None and not isinstance(section, dict):
        raise ProfileError('linux.seccomp must be an object')
    return section


def _check_str_list(value, where):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProfileError('%s must be a list of strings' % where)


def validate(section, fmt):
    """Type checks on the fields the analysis and the rewrite rely on."""
    if section is None:
        return
    prefix = 'linux.seccomp.' if fmt == 'bundle' else ''
    action = section.get('defaultAction')
    if not isinstance(action, str) or not action:
        raise ProfileError('%sdefaultAction is missing or not a string' % prefix)
    for key in ('listenerPath', 'listenerMetadata'):
        if section.get(key) is not None and not isinstance(section[key], str):
            raise ProfileError('%s%s must be a string' % (prefix, key))
    if section.get('architectures') is not None:
        _check_str_list(section['architectures'], prefix + 'architectures')
    arch_map = section.get('archMap')
    if arch_map is not None:
        if not isinstance(arch_map, list) or not all(isinstance(a, dict) for a in arch_map):
            raise ProfileError('%sarchMap must be a list of objects' % prefix)
    rules = section.get('syscalls')
    if rules is None:
        return
    if not isinstance(rules, list):
        raise ProfileError('%ssyscalls must be a list' % prefix)
    for index, rule in enumerate(rules):
        where = '%ssyscalls[%d]' % (prefix, index)
        if not isinstance(rule, dict):
            raise ProfileError('%s must be an object' % where)
        if not isinstance(rule.get('action'), str):
            raise ProfileError('%s.action is missing or not a string' % where)
        if 'names' in rule and rule['names'] is not None:
            _check_str_list(rule['names'], where + '.names')
        if 'name' in rule and not isinstance(rule['name'], str):
            raise ProfileError('%s.name must be a string' % where)
        if rule.get('args') is not None:
            if not isinstance(rule['args'], list) or not all(isinstance(a, dict) for a in rule['args']):
                raise ProfileError('%s.args must be a list of objects' % where)
        for key in ('includes', 'excludes'):
            if rule.get(key) is not None:
                if not isinstance(rule[key], dict):
                    raise ProfileError('%s.%s must be an object' % (where, key))
                for sub in ('arches', 'caps'):
                    if rule[key].get(sub) is not None:
                        _check_str_list(rule[key][sub], '%s.%s.%s' % (where, key, sub))


def rule_names(rule, expanding=True):
    """Syscall names a rule covers. The singular ``name`` is a Docker key an OCI reader ignores."""
    names = list(rule.get('names') or ())
    if expanding and isinstance(rule.get('name'), str) and rule['name'] not in names:
        names.append(rule['name'])
    return names


def _kernel_key(text):
    parts = re.findall(r'\d+', text or '')[:2]
    return tuple(int(p) for p in parts) if parts else None


def _filter_applies(flt, arch, caps, kernel, negate):
    """Does an includes (negate=False) / excludes (negate=True) filter keep the rule?

    Returns (applies, conditional). Unknown arch/caps/kernel are read so that the rule counts.
    """
    if not flt:
        return True, False
    conditional = False
    checks = []
    arches = flt.get('arches') or []
    if arches:
        if arch:
            checks.append(any(a in arches for a in arch_aliases(arch)))
        else:
            conditional = True
            checks.append(None)
    wanted_caps = flt.get('caps') or []
    if wanted_caps:
        if caps is not None:
            held = set(caps)
            checks.append(all(c in held for c in wanted_caps) if not negate else any(c in held for c in wanted_caps))
        else:
            conditional = True
            checks.append(None)
    min_kernel = flt.get('minKernel')
    if min_kernel:
        want, have = _kernel_key(min_kernel), _kernel_key(kernel)
        if want and have:
            checks.append(have >= want)
        else:
            conditional = True
            checks.append(None)
    if not negate:
        # every known include condition must hold; unknown ones count as holding
        return all(c is not False for c in checks), conditional
    # excludes: the rule is dropped when a known condition matches
    return not any(c is True for c in checks), conditional


def _reading(section, expanding, arch, caps, kernel):
    """NOTIFY rules and names under one reader's semantics."""
    rules, names = [], set()
    for index, rule in enumerate(section.get('syscalls') or ()):
        if str(rule.get('action', '')).upper() != NOTIFY:
            continue
        conditional = bool(rule.get('args'))
        if expanding:
            keep_in, cond_in = _filter_applies(rule.get('includes'), arch, caps, kernel, False)
            keep_ex, cond_ex = _filter_applies(rule.get('excludes'), arch, caps, kernel, True)
            if not (keep_in and keep_ex):
                continue
            conditional = conditional or cond_in or cond_ex
        rule_syscalls = rule_names(rule, expanding)
        if not rule_syscalls:
            continue
        names.update(rule_syscalls)
        rules.append({
            'index': index,
            'names': sorted(rule_syscalls),
            'args': rule.get('args') or [],
            'arches': list((rule.get('includes') or {}).get('arches') or []),
            'includes': rule.get('includes') or {},
            'excludes': rule.get('excludes') or {},
            'conditional': conditional,
        })
    return rules, names


def notify_analysis(section, fmt='oci', arch=None, caps=None, kernel=None, reader=None):
    """Effective NOTIFY analysis of one seccomp section.

    ``reader``: who reads the profile (docker, podman, cri-o expand Docker keys; containerd,
    kubelet, bundle read OCI literally); None means unknown, and both readings are united.
    """
    if reader is not None:
        reader = reader.lower()
    default_action = section.get('defaultAction')
    readings = {}
    if fmt != 'docker' or reader is None or reader not in EXPANDING_READERS:
        readings['literal'] = _reading(section, False, arch, caps, kernel)
    if fmt == 'docker' and (reader is None or reader in EXPANDING_READERS or reader not in LITERAL_READERS):
        readings['expanded'] = _reading(section, True, arch, caps, kernel)
    merged, names = {}, set()
    for rules, reading_names in readings.values():
        names.update(reading_names)
        for rule in rules:
            merged.setdefault(rule['index'], rule)
    return {
        'default_action': default_action,
        'default_notify': str(default_action).upper() == NOTIFY,
        'listener_path': section.get('listenerPath') or '',
        'architectures': _architectures(section),
        'notify': [merged[i] for i in sorted(merged)],
        'notify_syscalls': sorted(names),
        'notify_sets': dict((k, sorted(v[1])) for k, v in readings.items()),
    }


def _architectures(section):
    arches = list(section.get('architectures') or [])
    for entry in section.get('archMap') or ():
        main = entry.get('architecture')
        if isinstance(main, str) and main not in arches:
            arches.append(main)
    return arches


def describe_profile(data, arch=None, kernel=None, reader=None, caps=None):
    """Facts entry fields for one profile file's bytes, or None for a bundle without seccomp.

    Raises ProfileError with a specific message for unusable content. ``duplicate_keys`` lists the
    JSON paths of repeated keys (read last-wins, as the runtimes read them).
    """
    duplicates = []
    doc, fmt = decode_profile(data, duplicates=duplicates)
    section = seccomp_section(doc, fmt)
    if section is None:
        return None
    info = notify_analysis(section, fmt, arch=arch, caps=caps, kernel=kernel, reader=reader)
    info['format'] = fmt
    info['duplicate_keys'] = duplicates
    return info
