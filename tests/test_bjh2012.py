"""Butler-JPL-Horizons 2012 against CASA 6.7's own solar_system_fd (stored by
benchmarks/casa_oracle/bjh2012_fd.py): 12 bodies/dates x 4 bands, per channel."""
import json
import os

import numpy as np
import pytest

from fluxpipe.errors import PipelineError
from fluxpipe.models.solar_system import body_model

DATA = os.path.join(os.path.dirname(__file__), "data")
CASA = json.load(open(os.path.join(DATA, "casa_bjh2012.json")))["cases"]
CASA_TIME = json.load(open(os.path.join(DATA, "casa_bjh2012_time.json")))["cases"]


@pytest.mark.parametrize("case", CASA, ids=lambda c: f"{c['body']}-{c['mjd']}-{c['channels_hz'][0][0] / 1e9:.0f}")
def test_casa_geometry_matches_casa(case):
    ch = np.array(case["channels_hz"])
    m = body_model(case["body"], case["mjd"], ch[:, 0], ch[:, 1], geometry="casa")
    # CASA adds the observatory's rotation (<0.5 km/s) to the Doppler shift; we do not: < 1e-5
    # off the lines, 5e-4 on Titan's 345-GHz line wing
    tol = 1e-3 if case["body"] == "Titan" else 3e-5
    np.testing.assert_allclose(m.fluxes, case["flux_jy"], rtol=tol)
    assert m.major_arcsec == pytest.approx(case["major_arcsec"], rel=1e-9)
    assert m.minor_arcsec == pytest.approx(case["minor_arcsec"], rel=1e-9)
    assert m.pa_deg == pytest.approx(case["pa_deg"] if case["pa_deg"] != -999 else 0.0, abs=1e-6)


@pytest.mark.parametrize("case", CASA_TIME, ids=lambda c: f"{c['body']}-{c['mjd']}-{c['channels_hz'][0][0] / 1e9:.0f}")
def test_time_variable_bodies_match_casa(case, monkeypatch):
    """Mars (Tb in time and frequency), Ceres, Pallas, Vesta (flux density in time) from the rows of
    CASA's time tables about each date (an excerpt stands for the installed casadata), and Ceres
    before its time table begins (CASA's static table then)."""
    monkeypatch.setenv("FLUXPIPE_CASADATA", os.path.join(DATA, "casadata_excerpt"))
    ch = np.array(case["channels_hz"])
    m = body_model(case["body"], case["mjd"], ch[:, 0], ch[:, 1], geometry="casa")
    np.testing.assert_allclose(m.fluxes, case["flux_jy"], rtol=3e-5)
    assert m.major_arcsec == pytest.approx(case["major_arcsec"], rel=1e-9)
    assert m.minor_arcsec == pytest.approx(case["minor_arcsec"], rel=1e-9)
    assert ("casadata_excerpt" in m.source) == (case["mjd"] > 56658)


def test_time_variable_body_without_casadata_is_one_line(monkeypatch):
    monkeypatch.setenv("FLUXPIPE_CASADATA", "/nonexistent")
    with pytest.raises(PipelineError, match=r"Mars's .* varies in time: install the CASA data package"):
        body_model("Mars", 60462.1, np.array([100e9]), np.array([100.1e9]))
    monkeypatch.setenv("FLUXPIPE_CASADATA", os.path.join(DATA, "casadata_excerpt"))
    with pytest.raises(PipelineError, match=r"MJD 60000.00 is outside Mars_Tb_time.dat"):
        body_model("Mars", 60000.0, np.array([100e9]), np.array([100.1e9]))


def test_correct_geometry_differs_as_expected():
    """Uranus on 2024-11-20: the apparent polar radius from the latitude in radians, by hand."""
    lo, hi = np.array([100e9]), np.array([100.01e9])
    ok, casa = (body_model("Uranus", 60634.0, lo, hi, g) for g in ("correct", "casa"))
    lat = np.deg2rad(ok.sub_earth_lat_deg)
    req, rp = 25559.0, 24973.0
    rpap = np.sqrt(req ** 2 * np.sin(lat) ** 2 + rp ** 2 * np.cos(lat) ** 2)
    rpap_casa = np.sqrt(req ** 2 * np.sin(ok.sub_earth_lat_deg) ** 2 + rp ** 2 * np.cos(ok.sub_earth_lat_deg) ** 2)
    assert ok.fluxes[0] / casa.fluxes[0] == pytest.approx(rpap / rpap_casa, rel=1e-12)
    assert ok.minor_arcsec / ok.major_arcsec == pytest.approx(rpap / req, rel=1e-12)
    assert abs(ok.fluxes[0] / casa.fluxes[0] - 1) > 2e-3          # the bug is not negligible here
    assert (ok.pa_deg - casa.pa_deg) % 180 == pytest.approx(90.0)


@pytest.mark.parametrize("body,why", [("Saturn", "no model"), ("Mars", "varies in time")])
def test_unsupported_bodies_are_one_line_errors(body, why):
    with pytest.raises(PipelineError, match=why):
        body_model(body, 60634.0, np.array([100e9]), np.array([100.1e9]))


def test_outside_ephemeris_is_an_error():
    with pytest.raises(PipelineError, match="outside the shipped ephemeris"):
        body_model("Uranus", 51000.0, np.array([100e9]), np.array([100.1e9]))


def test_planet_without_a_row_runs_on_the_model_and_recovers_the_truth(tmp_path):
    """alma_band6_bjh: Uranus without a flux.csv row, the simulator's own Butler-JPL-Horizons sky
    (per channel, elliptical). The pipeline's model agrees with it at the spw centres (< 1e-4:
    linear vs cubic interpolation), the transfer fluxes with the truth within 3 sigma, and CASA's
    geometry moves the reference by the predicted ratio."""
    from fluxpipe import run_recipe
    from fluxpipe.sim import simulate
    ms = str(tmp_path / "b.ms")
    truth = simulate(ms, "alma_band6_bjh", seed=3)
    ctx = run_recipe("gfluxscale", [ms], str(tmp_path / "o"))
    st = ctx.ms["b.ms"]
    page = next((tmp_path / "o" / "weblog").rglob("*setmodel*.html")).read_text()
    assert 'id="body-model"' in page and "casa geometry" in page and "<th>Tb (K)</th>" in page
    body_table = page.split('id="body-model"')[1].split("</div>")[0]
    assert body_table.count("<tr><td>") == 4        # a row per spw: Tb, both geometries' fluxes
    assert all(90 < t < 100 for t in st.reference_model.body.tb_k.values())      # Uranus at 1.3 mm
    fj = json.load(open(tmp_path / "o" / "fluxes.json"))
    assert fj["b.ms"]["Uranus"]["role"] == "reference"
    assert len(fj["b.ms"]["Uranus"]["model"]["body"]["flux_other_geometry"]) == 4
    m, u = st.reference_model, truth["fields"]["Uranus"]
    assert m.origin == "Butler-JPL-Horizons 2012"
    assert m.disk_arcsec == pytest.approx(u["disk_arcsec"], rel=1e-5)
    assert m.minor_arcsec == pytest.approx(u["minor_arcsec"], rel=1e-5)
    for s, sw in enumerate(truth["spws"]):
        assert m.spectrum(s, np.array([sw["centre_freq_hz"]]))[0] == pytest.approx(u["flux_per_spw"][s], rel=1e-4)
    n = 0
    for f, r in st.fluxes.items():
        for s, v in r.spws.items():
            assert abs(v.flux_jy - truth["fields"][f]["flux_per_spw"][s]) < 3 * v.error_jy, (f, s)
            n += 1
    assert n == 12
    other = m.body.flux_other_geometry
    casa = run_recipe("gfluxscale", [ms], str(tmp_path / "c"), ["setmodel.solar_system_geometry=casa"],
                      weblog=False).ms["b.ms"]
    for s in range(4):
        mid = len(truth["spws"][s]["chan_freq_hz"]) // 2
        f = np.array([truth["spws"][s]["chan_freq_hz"][mid]])
        assert casa.reference_model.spectrum(s, f)[0] == pytest.approx(other[s], rel=1e-9)
    ratio = [casa.fluxes[f].spws[s].flux_jy / st.fluxes[f].spws[s].flux_jy for f in st.fluxes for s in range(4)]
    expect = np.mean([other[s] / m.spectrum(s, np.array([truth["spws"][s]["chan_freq_hz"][len(truth["spws"][s]["chan_freq_hz"]) // 2]]))[0] for s in range(4)])
    assert abs(expect - 1) > 5e-3                                  # 65 deg sub-Earth latitude: ~1 %
    # the transfer moves the same way, by less: the disk's shape and orientation change too, and
    # the resolved reference's short baselines see less of the total-flux change
    assert 0.5 * (expect - 1) > np.mean(ratio) - 1 > 1.5 * (expect - 1)
    print(f"CASA geometry: model x{expect:.5f}, transfer fluxes x{np.mean(ratio):.5f}")


def test_the_ms_ephemeris_table_gives_distance_and_velocity(tmp_path):
    """With an ALMA-style FIELD/EPHEM table in the MS, its Rho and RadVel are used (the rest from
    the shipped ephemeris). The simulator writes JPL-Horizons' values there, sampled on its own
    grid, so the model agrees with the one from the shipped ephemeris to the interpolation's
    precision; a table whose distance is 1 % larger lowers the flux by 2 %."""
    from casacore.tables import table

    from fluxpipe.ms.metadata import read_metadata
    from fluxpipe.sim import simulate
    from fluxpipe.skymodel import reference_model
    ms = str(tmp_path / "e.ms")
    simulate(ms, "alma_band6_bjh", seed=3, ephemeris_table=True)
    md = read_metadata(ms)
    m = reference_model(md, "Uranus")
    assert "Rho, RadVel from the MS's EPHEM0_Uranus" in m.body.source
    f = np.array([md.spws[0].centre_freq])
    shipped = body_model("Uranus", m.body.mjd, f - 1e6, f + 1e6)
    assert m.body.distance_au == pytest.approx(shipped.distance_au, rel=1e-6)
    assert m.body.radvel_km_s == pytest.approx(shipped.radvel_km_s, rel=1e-3)
    tab = next((tmp_path / "e.ms" / "FIELD").glob("EPHEM0_*.tab"))
    with table(str(tab), readonly=False, ack=False) as t:
        t.putcol("Rho", t.getcol("Rho") * 1.01)
    far = reference_model(read_metadata(ms), "Uranus")
    assert far.spectrum(0, f)[0] / m.spectrum(0, f)[0] == pytest.approx(1 / 1.01 ** 2, rel=1e-6)


def test_model_data_equals_casa_setjy_on_a_planet(tmp_path):
    """MODEL_DATA written by the recipe (solar_system_geometry=casa) against CASA 6.7's setjy
    (standard Butler-JPL-Horizons 2012) on the same simulated EB (alma_band6_bjh, seed 3), at 495
    rows x 16 channels stored by benchmarks/casa_oracle/setjy_planet_model.py, relative to the
    spw's total flux. The correct geometry differs from CASA's by its bug (the flux by 1.1 % on
    this date and the ellipse's axes swapped)."""
    from casacore.tables import table

    from fluxpipe import run_recipe
    from fluxpipe.sim import simulate
    z = np.load(os.path.join(DATA, "casa_setjy_planet.npz"))
    ms = str(tmp_path / "p.ms")
    simulate(ms, "alma_band6_bjh", seed=3)
    out = {}
    for geometry in ("casa", "correct"):
        run_recipe("gfluxscale", [ms], str(tmp_path / geometry), [f"setmodel.solar_system_geometry={geometry}"],
                   weblog=False)
        with table(ms, ack=False) as t:
            q = t.query("FIELD_ID==0")
            key = {(round(x, 3), a, b, d): i for i, (x, a, b, d) in enumerate(zip(
                q.getcol("TIME"), q.getcol("ANTENNA1"), q.getcol("ANTENNA2"), q.getcol("DATA_DESC_ID")))}
            rows = [key[(round(x, 3), a, b, d)] for x, a, b, d in zip(z["time"], z["antenna1"], z["antenna2"], z["ddid"])]
            out[geometry] = np.array([q.getcell("MODEL_DATA", i)[:, 0] for i in rows])
            q.close()
    casa = z["model"]
    total = z["spw_flux_jy"][z["ddid"]][:, None]        # setjy's flux of the row's spw (zero spacing)
    rms = {g: float(np.sqrt(np.mean(np.abs(m - casa) ** 2 / total ** 2))) for g, m in out.items()}
    assert rms["casa"] < 1e-4, rms                       # the issue asks for 0.5 %
    assert rms["correct"] > 3e-3, rms                    # CASA's bug: not negligible on this date
    print(f"MODEL_DATA vs CASA setjy, rms / total flux: casa geometry {rms['casa']:.2e}, correct {rms['correct']:.2e}")
