"""The test suite. Each test process counts its metrics in a folder of its own (set before
anything imports prometheus_client), removed when it ends."""

import atexit
import os
import shutil
import tempfile

if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tradebots-metrics-")
    atexit.register(shutil.rmtree, os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
