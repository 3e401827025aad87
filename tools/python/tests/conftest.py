# SPDX-License-Identifier: Apache-2.0
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
VECTORS = os.path.join(REPO, "spec", "vectors")


@pytest.fixture
def rundir(tmp_path):
    """A fresh root directory for runs."""
    return str(tmp_path / "runs")
