# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host scan behind runtime_facts (``discovery.gather``) and its readers.

What only some hosts need (a user's rootless setup, Go build information, TOML configs, rpm) is
imported where it is used, not at the top of a module: AnsiballZ ships source, so every module a run
imports is compiled again on every run on every host, and that compiling was most of a scan's cost.
"""
