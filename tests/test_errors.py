"""Bad input gives a one-line PipelineError naming the bad value (and the CLI exits 1)."""
import os
import shutil
import subprocess
import sys

import pytest

from pipeline.errors import MSError, PipelineError
from pipeline.ms import read_metadata


def test_not_an_ms(tmp_path):
    (tmp_path / "x.ms").mkdir()
    with pytest.raises(MSError, match="is not a MeasurementSet"):
        read_metadata(str(tmp_path / "x.ms"))
    with pytest.raises(MSError, match="is not a MeasurementSet"):
        read_metadata(str(tmp_path / "missing.ms"))


def test_missing_subtable(ngc5921_copy):
    shutil.rmtree(os.path.join(ngc5921_copy, "SPECTRAL_WINDOW"))
    with pytest.raises(MSError) as ei:
        read_metadata(ngc5921_copy)
    assert "SPECTRAL_WINDOW" in str(ei.value) and "\n" not in str(ei.value)


def test_cli_error_is_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "simulate", str(tmp_path / "a.ms"),
                        "--preset", "small", "--flag-antenna", "99"],
                       capture_output=True, text=True)
    # antenna 99 does not exist in the small preset
    assert r.returncode == 1, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("fluxpipe: error:")
    assert issubclass(MSError, PipelineError)
