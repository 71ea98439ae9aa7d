# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What runc_pin changes in each engine's configuration to run a side-by-side runc, as text edits.

Pure stdlib, Python 3.9+, no I/O: callers pass the current texts and get the new texts (or
``PinError`` with a reason a person can act on). Each edit changes the one runtime path and keeps
every other byte (``tomledit``, ``_layout``); each result is parsed again and checked against the
engine's own merge rules (``containerd_effective``) before it is offered.

containerd: a ``version = 1``/``2`` config is edited in place. containerd 1.x replaces a plugin
section from an import as a whole (containerd#5837), so a drop-in for the CRI plugin would wipe
``SystemdCgroup``, ``sandbox_image``, the CNI and registry settings. Only ``version = 3``
(containerd 2.x, which deep-merges imports) gets a drop-in.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json

from ansible_collections.runcguard.seccomp.plugins.module_utils import _layout
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import toml as _toml
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.engines import containerd_import
from ansible_collections.runcguard.seccomp.plugins.module_utils._pin.tomledit import (
    BOM, Document, EditError, quote_key, quote_string,
)

MANAGED = u'# Managed by Ansible (runcguard.seccomp.runc_pin); removed by runc_pin_action=unpin.'
CRI_PLUGIN = {1: 'cri', 2: 'io.containerd.grpc.v1.cri', 3: 'io.containerd.cri.v1.runtime'}
RUNC_SHIMS = ('io.containerd.runc.v2', 'io.containerd.runc.v1')


class PinError(ValueError):
    """The engine's configuration cannot take the pin; nothing must be changed."""


def _decode(data, path):
    if data is None:
        return None
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise PinError('%s is not UTF-8 text (%s)' % (path, exc))


def _encode(text):
    return text.encode('utf-8')


# ------------------------------------------------------------------ containerd
def read_toml(path, text):
    """A ``tomledit.Document`` of ``text`` (PinError naming ``path`` when it is not TOML)."""
    try:
        return Document(text)
    except EditError as exc:
        raise PinError('%s: %s' % (path, exc))


def containerd_effective(main, imports, version):
    """The configuration containerd builds from ``main`` and the ``imports`` documents (in order), by
    the engine readers' model of each version's merge rules (``_engines.containerd_import``)."""
    out = copy.deepcopy(main)
    for doc in imports:
        containerd_import(out, copy.deepcopy(doc), version)
    return out


def containerd_version(data, path):
    version = data.get('version', 1)
    if version not in CRI_PLUGIN or isinstance(version, bool):
        raise PinError('%s has config version %r; containerd knows 1, 2 and 3' % (path, version))
    return version


def containerd_runtime(data, version, path):
    """(name, path of the BinaryName key) of the runc runtime the CRI plugin runs by default."""
    cri = ['plugins', CRI_PLUGIN[version], 'containerd']
    section = data
    for part in cri:
        section = section.get(part) if isinstance(section, dict) else None
    section = section if isinstance(section, dict) else {}
    name = section.get('default_runtime_name', 'runc')
    if not isinstance(name, str) or not name:
        raise PinError('%s: default_runtime_name is not a runtime name' % path)
    spec = (section.get('runtimes') or {}).get(name) if isinstance(section.get('runtimes'), dict) else None
    rtype = spec.get('runtime_type', RUNC_SHIMS[0]) if isinstance(spec, dict) else RUNC_SHIMS[0]
    if rtype not in RUNC_SHIMS:
        raise PinError('%s: the default runtime %r has runtime_type %r, not runc (%s); nothing to pin'
                       % (path, name, rtype, ' / '.join(RUNC_SHIMS)))
    return name, tuple(cri + ['runtimes', name, 'options', 'BinaryName'])


def containerd_dropin_text(version, key_path, binary, newline='\n'):
    table = '[' + '.'.join(quote_key(p) for p in key_path[:-1]) + ']'
    lines = [MANAGED, 'version = %d' % version, '', table, '  BinaryName = ' + quote_string(binary)]
    return newline.join(lines) + newline


def pin_containerd(config_path, config, dropin_path, dropin, binary, imports=None):
    """New texts for containerd: {path: bytes or None (remove)}, the runtime name and a note.

    ``config``/``dropin``: current bytes or None. ``imports``: {path: bytes} of the files the config
    imports (globs expanded by the caller), our drop-in excluded.
    """
    text = _decode(config, config_path)
    doc = read_toml(config_path, text if text is not None else u'version = 2\n')
    data = doc.data
    version = containerd_version(data, config_path)
    name, key = containerd_runtime(data, version, config_path)
    imported = []
    for ipath, idata in sorted((imports or {}).items()):
        try:
            imported.append((ipath, _toml.loads((_decode(idata, ipath) or '').lstrip(BOM))))
        except _toml.TomlError as exc:
            raise PinError('%s (imported by %s) is not valid TOML: %s' % (ipath, config_path, exc))
    out = {}
    note = ''
    try:
        if version < 3:
            # an earlier runc_pin's drop-in (containerd 1.x dropped the CRI settings with it): undo it
            if dropin_path in (data.get('imports') or []):
                doc.remove_from_array('imports', dropin_path)
                if dropin is not None:
                    out[dropin_path] = None
                note = 'removed the import of %s (containerd 1.x replaced the whole CRI section with it)' % dropin_path
            for ipath, idoc in imported:
                if isinstance(idoc.get('plugins'), dict) and CRI_PLUGIN[version] in idoc['plugins']:
                    raise PinError('%s imports %s, which holds the whole %s section for containerd 1.x; set '
                                   '%s there by hand' % (config_path, ipath, CRI_PLUGIN[version], '.'.join(key)))
            # containerd 1.x decodes a runtime table onto an empty runtime, not onto its built-in default: a
            # runtime the file does not mention yet gets the default's runtime_type with its BinaryName
            if doc.get(key[:-2]) is None:
                doc.set_string(key[:-2] + ('runtime_type',), RUNC_SHIMS[0])
            doc.set_string(key, binary)
        else:
            want = _encode(containerd_dropin_text(3, key, binary, doc.newline))
            if dropin != want:
                out[dropin_path] = want
            doc.add_to_array('imports', dropin_path)
    except EditError as exc:
        raise PinError('%s: %s' % (config_path, exc))
    new = _encode(doc.render())
    if new != config:
        out[config_path] = new
    # the re-check: what containerd will run, by its own merge rules for this config version
    final = _toml.loads(doc.render().lstrip(BOM))
    docs = [d for p, d in imported if p in (final.get('imports') or [])]
    if version >= 3:
        docs.append(_toml.loads(containerd_dropin_text(3, key, binary)))
    effective = containerd_effective(final, docs, version)
    got = effective
    for part in key:
        got = got.get(part) if isinstance(got, dict) else None
    if got != binary:
        raise PinError('%s: after the edit containerd would still not run %s (got %r)' % (config_path, binary, got))
    return out, name, note


# ------------------------------------------------------------------ docker
def pin_docker(path, data, binary, runtime_name):
    """New daemon.json bytes (or None when nothing changes) and the runtime whose runtimeArgs were kept."""
    text = _decode(data, path)
    bom = bool(text) and text.startswith(BOM)
    body = text[1:] if bom else text
    if body is None or not body.strip():
        doc, body = {}, None
    else:
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise PinError('%s is not valid JSON: %s' % (path, exc))
        if not isinstance(doc, dict):
            raise PinError('%s does not hold a JSON object' % path)
    runtimes = doc.get('runtimes', {})
    if not isinstance(runtimes, dict):
        raise PinError('%s: "runtimes" is not an object' % path)
    old_default = doc.get('default-runtime', 'runc')
    if not isinstance(old_default, str):
        raise PinError('%s: "default-runtime" is not a string' % path)
    entry = dict(runtimes.get(runtime_name) or {})
    source = runtimes.get(old_default) if old_default != runtime_name else None
    inherited = None
    if isinstance(source, dict):
        if 'runtimeType' in source and source.get('runtimeType') not in RUNC_SHIMS + ('runc',):
            raise PinError('%s: the default runtime %r is %s, not runc; nothing to pin'
                           % (path, old_default, source['runtimeType']))
        if 'runtimeArgs' in source:  # e.g. --systemd-cgroup: the pinned runc runs the same way
            entry['runtimeArgs'] = copy.deepcopy(source['runtimeArgs'])
            inherited = old_default
    entry['path'] = binary
    new = copy.deepcopy(doc)
    new.setdefault('runtimes', {})
    new['runtimes'][runtime_name] = entry
    new['default-runtime'] = runtime_name
    if new == doc:
        return None, inherited
    if body is None:
        out = json.dumps(new, indent=2, ensure_ascii=False) + '\n'
    else:
        style = _layout.detect_style(body)
        try:
            out = _layout.splice(body, doc, new, style)
        except _layout.LayoutError:
            out = _layout.dump(new, style)
    if json.loads(out) != new:
        raise PinError('%s: the edit would change more than the runtime; nothing was changed' % path)
    return _encode((BOM if bom else '') + out), inherited


# ------------------------------------------------------------------ CRI-O and podman drop-ins
def _toml_value(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, list):
        return '[' + ', '.join(_toml_value(v) for v in value) + ']'
    if isinstance(value, dict):
        return '{' + ', '.join(quote_key(k) + ' = ' + _toml_value(v) for k, v in value.items()) + '}'
    raise PinError('cannot write a %s in TOML' % type(value).__name__)


def crio_dropin(configs, binary):
    """Drop-in text for CRI-O: its default runc handler, every key as configured, a new runtime_path.

    ``configs``: (path, bytes) of crio.conf and the other drop-ins in the order CRI-O reads them. The
    handler's other keys are repeated so a CRI-O that replaces a handler from a drop-in as a whole
    keeps them.
    """
    name, handler = 'runc', {}
    for path, data in configs:
        try:
            doc = _toml.loads((_decode(data, path) or '').lstrip(BOM))
        except _toml.TomlError as exc:
            raise PinError('%s is not valid TOML: %s' % (path, exc))
        runtime = (doc.get('crio') or {}).get('runtime') or {}
        if isinstance(runtime.get('default_runtime'), str):
            name = runtime['default_runtime']
        table = runtime.get('runtimes') if isinstance(runtime.get('runtimes'), dict) else {}
        for rname, spec in table.items():
            if isinstance(spec, dict):
                handler.setdefault(rname, {}).update(spec)
    spec = dict(handler.get(name, {}))
    spec['runtime_path'] = binary
    lines = [MANAGED, '[crio.runtime.runtimes.%s]' % quote_key(name)]
    lines += ['%s = %s' % (quote_key(k), _toml_value(v)) for k, v in spec.items() if not isinstance(v, dict)]
    for key, value in spec.items():
        if isinstance(value, dict):
            lines += ['', '[crio.runtime.runtimes.%s.%s]' % (quote_key(name), quote_key(key))]
            lines += ['%s = %s' % (quote_key(k), _toml_value(v)) for k, v in value.items()]
    text = '\n'.join(lines) + '\n'
    _toml.loads(text)
    return _encode(text), name


def podman_dropin(configs, binary):
    """Drop-in text for podman: its OCI runtime name (engine.runtime, runc when unset) -> [binary]."""
    name = 'runc'
    for path, data in configs:
        try:
            doc = _toml.loads((_decode(data, path) or '').lstrip(BOM))
        except _toml.TomlError as exc:
            raise PinError('%s is not valid TOML: %s' % (path, exc))
        runtime = (doc.get('engine') or {}).get('runtime')
        if isinstance(runtime, str) and runtime and '/' not in runtime:
            name = runtime
    if name == 'crun':
        raise PinError('podman runs crun (engine.runtime), not runc; nothing to pin')
    text = '\n'.join([MANAGED, '[engine.runtimes]', '%s = [%s]' % (quote_key(name), quote_string(binary))]) + '\n'
    _toml.loads(text)
    return _encode(text), name
