"""Bad input gives a one-line PipelineError naming the bad value (and the CLI exits 1)."""
import os
import shutil

import pytest
from clirun import cli

from fluxpipe.errors import MSError, PipelineError
from fluxpipe.ms import read_metadata


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
    r = cli("simulate", str(tmp_path / "a.ms"), "--preset", "small", "--flag-antenna", "99")
    # antenna 99 does not exist in the small preset
    assert r.returncode == 1, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("fluxpipe: error:")
    assert issubclass(MSError, PipelineError)


def test_cli_fluxscale(casa_ref, ngc5921_pristine, tmp_path):
    import json
    out = tmp_path / "d.json"
    r = cli("fluxscale", ngc5921_pristine, os.path.join(casa_ref, "ngc5921", "ngc5921.G"), "--reference",
            "1331+30500002_0", "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert "2.52584 +/- 0.00215247" in r.stdout
    assert json.load(open(out))["1"]["0"]["numSol"][0] == 54
    r = cli("fluxscale", ngc5921_pristine, os.path.join(casa_ref, "ngc5921", "ngc5921.G"), "--reference", "3C999")
    assert r.returncode == 1 and "3C999" in r.stderr and r.stderr.count("\n") == 1


def test_flux_csv_keeps_user_rows(tmp_path):
    from fluxpipe.fluxcsv import FluxRow, read_flux_csv, write_flux_csv
    p = str(tmp_path / "flux.csv")
    write_flux_csv(p, [FluxRow("a.ms", "J1", 0, 1.0, comment="# fluxpipe derived"),
                       FluxRow("a.ms", "J2", 0, 2.0, comment="# fluxpipe derived")])
    rows = read_flux_csv(p)
    rows[0].I, rows[0].comment = 1.7, "# edited by hand: ALMA calibrator catalogue 2026-11"
    import csv
    with open(p, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ms", "field", "spw", "I", "Q", "U", "V", "spix", "uvmin", "uvmax", "comment"])
        for r in rows:
            w.writerow([r.ms, r.field, r.spw, r.I, r.Q, r.U, r.V, r.spix, r.uvmin, r.uvmax, r.comment])
    write_flux_csv(p, [FluxRow("a.ms", "J1", 0, 9.0, comment="# fluxpipe derived"),
                       FluxRow("a.ms", "J2", 0, 9.0, comment="# fluxpipe derived")])
    got = {r.field: r.I for r in read_flux_csv(p)}
    assert got == {"J1": 1.7, "J2": 9.0}
