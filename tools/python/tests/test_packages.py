# SPDX-License-Identifier: Apache-2.0
"""The installed-packages list of the environment record: listed by a child
process (so that the training process's GIL is not held for it), the same
list as listed in-process, and listed in-process when the child fails."""

import os
import sys
import threading
import time

from runlog._packages import PackageListing, installed_packages


def test_the_child_lists_what_this_process_sees_and_this_process_barely_works():
    here = installed_packages()
    assert any(p.startswith("pytest==") for p in here)
    cpu = time.thread_time()
    listing = PackageListing()
    assert listing._proc is not None  # a child was started
    got = listing.result()
    assert got == here
    # Starting the child and reading its answer is a small part of listing here.
    started = time.thread_time()
    installed_packages()
    assert time.thread_time() - started > 2 * (started - cpu)


def test_a_path_only_this_process_has_is_listed_too(tmp_path):
    info = tmp_path / "only_here_pkg-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: only-here-pkg\nVersion: 1.2.3\n")
    path = [str(tmp_path)] + sys.path
    assert "only-here-pkg==1.2.3" in PackageListing(path).result()
    assert "only-here-pkg==1.2.3" not in PackageListing().result()


def test_without_a_child_the_list_is_made_here(tmp_path):
    expected = installed_packages()
    assert PackageListing(executable="").result() == expected
    assert PackageListing(executable=str(tmp_path / "missing")).result() == expected
    assert PackageListing(executable="/bin/false").result() == expected  # exit 1
    garbage = tmp_path / "garbage"
    garbage.write_text("#!/bin/sh\necho '{\"not\": \"a list\"}'\n")
    os.chmod(garbage, 0o755)
    assert PackageListing(executable=str(garbage)).result() == expected


def test_a_child_that_hangs_is_killed_after_the_timeout(tmp_path):
    slow = tmp_path / "slow"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    os.chmod(slow, 0o755)
    listing = PackageListing(executable=str(slow))
    proc = listing._proc
    started = time.monotonic()
    assert listing.result(timeout=0.5) == installed_packages()
    assert time.monotonic() - started < 10
    assert proc.returncode == -9  # killed and reaped, not left behind


def test_the_listing_can_be_waited_for_on_another_thread():
    listing = PackageListing()
    out = []
    t = threading.Thread(target=lambda: out.append(listing.result()))
    t.start()
    t.join(30)
    assert out == [installed_packages()]
