# SPDX-License-Identifier: Apache-2.0
"""The installed-packages list of the environment record: read from the
metadata entries on the search path, it is the list `importlib.metadata`
gives, for this environment and for the odd shapes of entries it knows."""

import subprocess
import sys
import zipfile
from importlib import metadata

from runlog._packages import installed_packages
from runlog.environment import describe_git


def by_importlib(path):
    seen = {}
    for d in metadata.distributions(path=list(path)):
        name = d.metadata.get("Name")
        if name and name.lower() not in seen:
            seen[name.lower()] = f"{name}=={d.version}"
    return [seen[k] for k in sorted(seen)]


def test_this_environment_lists_as_importlib_metadata_lists_it():
    here = installed_packages()
    assert any(p.startswith("pytest==") for p in here)
    assert here == by_importlib(sys.path)


def test_odd_entries_list_as_importlib_metadata_lists_them(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "plain-1.0.dist-info").mkdir()
    (site / "plain-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: Plain\nVersion: 1.0\n\nName: x\n")
    long = site / "long_headers-2.0.dist-info"  # Name and Version after 10 KB of other headers, CRLF lines
    long.mkdir()
    (long / "METADATA").write_bytes(b"".join(b"Classifier: %05d %s\r\n" % (i, b"x" * 90) for i in range(100))
                                    + b"Version: 2.0\r\nname: Long-Headers\r\n\r\nbody\r\n")
    (site / "legacy-0.1.egg-info").write_text("Metadata-Version: 1.0\nName: legacy\nVersion: 0.1\n")  # a file
    (site / "old-3.egg-info").mkdir()
    (site / "old-3.egg-info" / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: old\nVersion: 3\n")
    (site / "noversion.dist-info").mkdir()
    (site / "noversion.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: noversion\n")
    (site / "empty-1.dist-info").mkdir()  # no metadata file: no name, not listed
    (site / "nameless-1.dist-info").mkdir()
    (site / "nameless-1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nVersion: 1\n")
    (site / "cut-1.dist-info").mkdir()
    (site / "cut-1.dist-info" / "METADATA").write_text("Name: cut")  # no newline at all
    egg = site / "eggy-1.0-py3.11.egg"  # an unzipped egg on the path
    (egg / "EGG-INFO").mkdir(parents=True)
    (egg / "EGG-INFO" / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: eggy\nVersion: 1.0\n")
    shadow = tmp_path / "shadow"  # a later entry with the same name: the first wins
    (shadow / "plain-9.dist-info").mkdir(parents=True)
    (shadow / "plain-9.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: plain\nVersion: 9\n")
    zipped = tmp_path / "zipped.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("inzip-4.dist-info/METADATA", "Metadata-Version: 2.1\nName: inzip\nVersion: 4\n")
    path = [str(site), str(egg), str(shadow), str(zipped), str(tmp_path / "missing"), str(tmp_path / "site" / "x")]
    got = installed_packages(path)
    assert got == by_importlib(path)
    assert got == ["cut==None", "eggy==1.0", "inzip==4", "legacy==0.1", "Long-Headers==2.0", "noversion==None",
                   "old==3", "Plain==1.0"]


def git(directory, *args):
    subprocess.run(["git", "-C", str(directory), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a",
                        "GIT_COMMITTER_EMAIL": "a@b", "PATH": "/usr/bin:/bin", "HOME": str(directory)})


def test_git_commit_branch_remote_and_dirty(tmp_path):
    assert describe_git(str(tmp_path)) is None  # not a work tree
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "train")
    assert describe_git(str(repo)) is None  # no commit yet
    (repo / "a.py").write_text("1\n")
    git(repo, "add", "a.py")
    git(repo, "commit", "-q", "-m", "c")
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert describe_git(str(repo)) == {"commit": head, "branch": "train", "dirty": False}
    git(repo, "remote", "add", "origin", "https://user:secret@example.com/team/repo.git")
    (repo / "untracked.txt").write_text("not a change\n")
    assert describe_git(str(repo)) == {"commit": head, "branch": "train",
                                       "remote": "https://example.com/team/repo.git", "dirty": False}
    (repo / "a.py").write_text("2\n")
    assert describe_git(str(repo))["dirty"] is True
    git(repo, "checkout", "-q", "--detach")
    assert describe_git(str(repo)) == {"commit": head, "remote": "https://example.com/team/repo.git", "dirty": True}
