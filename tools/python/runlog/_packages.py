# SPDX-License-Identifier: Apache-2.0
"""The installed distributions as `name==version`: what
`importlib.metadata.distributions()` finds, read straight from the
`*.dist-info` and `*.egg-info` entries of each directory on the search path
and the `Name` and `Version` headers at the top of their metadata files.
That takes a few milliseconds for a few hundred distributions, where
`importlib.metadata` parses every metadata file whole (a tenth of a second
of pure Python); a zip file on the path is left to `importlib.metadata`."""

import os
import sys

_INFO = (".dist-info", ".egg-info")
_CHUNK = 4096


def installed_packages(path=None):
    """`name==version` of every distribution on `path` (default `sys.path`),
    sorted by name; the first of a name on the path wins."""
    seen = {}
    for entry in list(sys.path if path is None else path):
        for name, version in _distributions(entry or "."):
            if name and name.lower() not in seen:
                seen[name.lower()] = f"{name}=={version}"
    return [seen[k] for k in sorted(seen)]


def _distributions(root):
    """(name, version) of each distribution in the path entry `root`."""
    try:
        children = os.listdir(root)
    except NotADirectoryError:
        return _zipped(root)
    except OSError:
        return []
    egg = os.path.basename(root).lower().endswith(".egg")
    out = []
    for child in children:
        low = child.lower()
        if low.endswith(_INFO) or (egg and low == "egg-info"):
            out.append(_headers(os.path.join(root, child)))
    return out


def _zipped(root):
    from importlib import metadata

    try:
        return [(d.metadata.get("Name"), d.version) for d in metadata.distributions(path=[root])]
    except Exception:  # noqa: BLE001 - not a zip file, a damaged one: nothing listed from it
        return []


def _headers(info):
    """(Name, Version) from the metadata of the `*-info` entry `info`: its
    METADATA or PKG-INFO file, or the entry itself when it is a file; None
    for a header that is not there."""
    for path in (os.path.join(info, "METADATA"), os.path.join(info, "PKG-INFO"), info):
        try:
            with open(path, "rb") as f:
                return _parse(f)
        except OSError:  # missing, or a directory
            continue
    return None, None


def _parse(f):
    """Name and Version of the header block (up to the first empty line) of the file `f`."""
    name = version = None
    rest = b""
    while True:
        chunk = f.read(_CHUNK)
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop() if chunk else b""
        for line in lines:
            line = line.rstrip(b"\r")
            if not line:
                return name, version
            key, sep, value = line.partition(b":")
            key = key.strip().lower()
            if sep and key == b"name" and name is None:
                name = value.strip().decode("utf-8", "replace")
            elif sep and key == b"version" and version is None:
                version = value.strip().decode("utf-8", "replace")
            if name is not None and version is not None:
                return name, version
        if not chunk:
            return name, version
