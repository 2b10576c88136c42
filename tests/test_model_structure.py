"""Reference models from component lists and FITS model images.

A simulated EB ('small': 8 antennas, 24-336 m, 100/102 GHz) whose reference J0423-0120 is given
structure by the test itself: the reference rows' DATA are multiplied by the normalised
visibility of three components (two points and a Gaussian), computed here with the test's own
DFT (CASA's sign convention for the MS's UVW, checked against CASA's ft in tests/test_predict.py),
not with the pipeline's predictor. With the structure given as a component list or as a FITS
image the transfer flux recovers the truth within the noise; with a point model it is biased by
the amount a gain solve against a point predicts (the test's own StEFCal on the noise-free
structure visibilities)."""
import json
import os
import shutil

import numpy as np
import pytest
import yaml
from casacore.tables import table

from fluxpipe import run_recipe
from fluxpipe.sim import simulate

REF, TRANSFER = "J0423-0120", "J0530+1331"
AS = np.pi / 180 / 3600
C = 299792458.0
# (relative flux, east arcsec, north arcsec, FWHM major, minor arcsec, PA deg)
COMPONENTS = [(1.0, 0.0, 0.0, 0, 0, 0), (0.7, 1.8, 1.0, 0, 0, 0), (0.3, -0.9, 0.4, 1.5, 0.8, 40.0)]


def structure_vis(uvw: np.ndarray, freq: np.ndarray, comps=COMPONENTS) -> np.ndarray:
    """(rows, chan) normalised visibility of `comps`: sum S exp(+2 pi i (u l + v m)) G / sum S."""
    total = sum(c[0] for c in comps)
    k = freq[None, :] / C                                             # 1 / wavelength
    out = np.zeros((len(uvw), len(freq)), complex)
    for s, east, north, bmaj, bmin, pa in comps:
        l, m = east * AS, north * AS
        v = s * np.exp(2j * np.pi * (uvw[:, 0:1] * l + uvw[:, 1:2] * m) * k)
        if bmaj:
            th = np.radians(pa)
            rot = np.array([[np.sin(th), np.cos(th)], [np.cos(th), -np.sin(th)]])    # (u,v) -> (major, minor)
            ab = (uvw[:, :2] @ rot.T)[:, :, None] * k[None, :, :]                    # (rows, 2, chan) wavelengths
            v = v * np.exp(-(np.pi ** 2) / (4 * np.log(2)) * ((bmaj * AS * ab[:, 0]) ** 2 + (bmin * AS * ab[:, 1]) ** 2))
        out += v
    return out / total


def stefcal(V: np.ndarray, a1: np.ndarray, a2: np.ndarray, n: int) -> np.ndarray:
    """Antenna gains g with V_ij ~ g_i conj(g_j) (model 1), the test's own alternating solver."""
    M = np.zeros((n, n), complex)
    M[a1, a2] = V
    M[a2, a1] = np.conj(V)
    g = np.ones(n, complex)
    for it in range(200):          # g_i = sum_j M_ij g_j / sum_j |g_j|^2 (j != i; M_ii = 0)
        new = (M @ g) / (np.sum(np.abs(g) ** 2) - np.abs(g) ** 2)
        g = new if it % 2 else (new + g) / 2
    return g


def scale_reference(ms: str, factor) -> None:
    """Multiply the reference's cross-correlation DATA by factor(uvw, chan_freq) (rows, chan)."""
    spw_freq = table(ms + "/SPECTRAL_WINDOW", ack=False).getcol("CHAN_FREQ")
    ddspw = table(ms + "/DATA_DESCRIPTION", ack=False).getcol("SPECTRAL_WINDOW_ID")
    with table(ms, readonly=False, ack=False) as t:
        sel = t.query("FIELD_ID==0 && ANTENNA1!=ANTENNA2")
        data, uvw, dd = sel.getcol("DATA"), sel.getcol("UVW"), sel.getcol("DATA_DESC_ID")
        for k in np.unique(dd):
            rows = dd == k
            data[rows] *= factor(uvw[rows], spw_freq[ddspw[k]])[:, :, None]
        sel.putcol("DATA", data)
        sel.close()


@pytest.fixture(scope="module")
def eb(tmp_path_factory):
    d = tmp_path_factory.mktemp("struct")
    ms = str(d / "s.ms")
    truth = simulate(ms, "small", seed=7)
    scale_reference(ms, lambda uvw, f: structure_vis(uvw, f))
    yaml.safe_dump({"components": [
        {"flux_jy": s, "offset_arcsec": [e, n], **({"shape": "gaussian", "major_arcsec": a, "minor_arcsec": b,
                                                     "pa_deg": p} if a else {})}
        for s, e, n, a, b, p in COMPONENTS]}, open(d / "ref.yaml", "w"))
    return d, ms, truth


def _flux(out) -> dict:
    fl = json.load(open(os.path.join(out, "fluxes.json")))["s.ms"][TRANSFER]["spws"]
    return {int(s): (v["flux_jy"], v["error_jy"]) for s, v in fl.items()}


def test_component_list_recovers_the_truth(eb):
    d, ms, truth = eb
    ctx = run_recipe("gfluxscale", [ms], str(d / "comp"), ["setmodel.components=ref.yaml"])
    m = ctx.ms["s.ms"].reference_models[REF]
    assert m.structure.kind == "components" and len(m.structure.weight) == 3
    assert m.origin == "flux.csv"                      # the structure is scaled to the catalogue flux
    for s, (f, e) in _flux(d / "comp").items():
        t = truth["fields"][TRANSFER]["flux_per_spw"][s]
        assert abs(f - t) < 4 * e + 2e-3 * t, (s, f, t, e)
    # the model check on what the model leaves: a point (consistent)
    rc = next(r for r in ctx.results if r.stage == "resolvedcal")
    assert rc.qa[1].value == 1.0 and "components model" in rc.qa[1].short
    # write-back: the reference's MODEL_DATA is the same structure times its spectrum
    sm = next(r for r in ctx.results if r.stage == "setmodel").summary["flux_per_spw"]
    f0 = table(ms + "/SPECTRAL_WINDOW", ack=False).getcol("CHAN_FREQ")[0]
    t = table(ms, ack=False).query("FIELD_ID==0 && ANTENNA1!=ANTENNA2 && DATA_DESC_ID==0")
    ratio = t.getcol("MODEL_DATA")[:, :, 0] / structure_vis(t.getcol("UVW"), f0)
    assert np.abs(ratio.imag).max() < 1e-5 * np.abs(ratio).max()
    assert np.ptp(ratio.real, axis=0).max() < 1e-5 * ratio.real.max()          # one spectrum for all rows
    assert ratio.real[0, len(f0) // 2] == pytest.approx(sm["0"], rel=1e-5)     # the flux.csv spectrum
    # the weblog's amplitude-vs-uv plot shows the structure model and the point model
    stages = d / "comp" / "weblog" / "stages"
    png = [f for f in os.listdir(stages) if f.endswith("_ampuv.png") and "resolvedcal" in f]
    assert png and open(stages / png[0], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    page = open(stages / png[0].replace("_ampuv.png", ".html")).read()
    assert "the components model at each visibility and the point model" in page


def test_point_model_is_biased_by_the_structure(eb):
    d, ms, truth = eb
    run_recipe("gfluxscale", [ms], str(d / "point"), weblog=False)
    # the test's prediction: per integration, gains solved against a point on the noise-free
    # structure; the amplitude solve averages a scan, fluxscale takes (ref gain)^-2
    t = table(ms, ack=False).query("FIELD_ID==0 && ANTENNA1!=ANTENNA2 && DATA_DESC_ID==0")
    uvw, a1, a2, tm = t.getcol("UVW"), t.getcol("ANTENNA1"), t.getcol("ANTENNA2"), t.getcol("TIME")
    f0 = table(ms + "/SPECTRAL_WINDOW", ack=False).getcol("CHAN_FREQ")[0]
    F = structure_vis(uvw, f0).mean(axis=1)
    n = int(max(a1.max(), a2.max())) + 1
    g2 = np.mean([np.abs(stefcal(F[tm == x], a1[tm == x], a2[tm == x], n)) ** 2 for x in np.unique(tm)[::5]], axis=0)
    predicted = 1 / np.exp(np.mean(np.log(g2)))          # the transfer flux's factor from a point model
    f, e = _flux(d / "point")[0]
    tr = truth["fields"][TRANSFER]["flux_per_spw"][0]
    print(f"point model: flux/truth {f / tr:.4f}, predicted {predicted:.4f}, error {e / tr:.4f}")
    assert predicted > 1.05                                # the structure matters on these baselines
    assert f / tr > 1 + 3 * e / tr      # biased beyond its error (which the unmodelled structure inflates)
    assert f / tr == pytest.approx(predicted, rel=0.01)


def test_fits_image_with_shifted_reference_position(eb, tmp_path):
    """The same point components in a FITS image (Jy/pixel) whose reference pixel is not at the
    phase centre; the Gaussian is left out (an image of points), its flux moved to the centre."""
    from astropy.io import fits
    from astropy.wcs import WCS
    d, ms, truth = eb
    ra0, dec0 = table(ms + "/FIELD", ack=False).getcol("PHASE_DIR")[0, 0]
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    w.wcs.cdelt = [-0.1 / 3600, 0.1 / 3600]
    w.wcs.crpix = [33, 33]
    w.wcs.crval = [np.degrees(ra0) + 2.0 / 3600 / np.cos(dec0), np.degrees(dec0) - 1.0 / 3600]   # 2" E, 1" S
    img = np.zeros((64, 64))
    placed = []
    for s, east, north in ((1.3, 0.0, 0.0), (0.7, 1.8, 1.0)):      # centre flux includes the Gaussian's
        x, y = w.world_to_pixel_values(np.degrees(ra0 + east * AS / np.cos(dec0)), np.degrees(dec0 + north * AS))
        xi, yi = int(round(float(x))), int(round(float(y)))
        img[yi, xi] = s
        ra, dec = np.radians(w.pixel_to_world_values(xi, yi))       # where the pixel centre really is
        l = np.cos(dec) * np.sin(ra - ra0)
        m = np.sin(dec) * np.cos(dec0) - np.cos(dec) * np.sin(dec0) * np.cos(ra - ra0)
        placed.append((s, l / AS, m / AS, 0, 0, 0))
    hdr = w.to_header()
    hdr["BUNIT"] = "Jy/pixel"
    fits.PrimaryHDU(img, hdr).writeto(tmp_path / "ref.fits")
    # a copy of the EB whose structure is exactly the image's pixels
    ms2 = str(tmp_path / "e" / "s.ms")
    shutil.copytree(ms, ms2)
    shutil.copy(os.path.join(os.path.dirname(ms), "flux.csv"), tmp_path / "e")
    scale_reference(ms2, lambda uvw, f: structure_vis(uvw, f, placed) / structure_vis(uvw, f))
    ctx = run_recipe("gfluxscale", [ms2], str(tmp_path / "img"), [f"setmodel.model_image={tmp_path / 'ref.fits'}"],
                     weblog=False)
    st = ctx.ms["s.ms"].reference_models[REF].structure
    assert st.kind == "image" and len(st.weight) == 2
    # the pixels' offsets from the phase centre, as the test placed them (to 1 microarcsec)
    got = sorted(zip(st.weight, np.array(st.l) / AS, np.array(st.m) / AS))
    want = sorted((s, e, n) for s, e, n, *_ in placed)
    assert np.allclose(np.array(got), np.array(want), atol=1e-6)
    for s, (f, e) in _flux(tmp_path / "img").items():
        t = truth["fields"][TRANSFER]["flux_per_spw"][s]
        assert abs(f - t) < 4 * e + 2e-3 * t, (s, f, t, e)
    # the same image as a CASA image directory (converted by casacore): the same components
    from casacore.images import image
    image(str(tmp_path / "ref.fits")).saveas(str(tmp_path / "ref.im"))
    ctx2 = run_recipe("gfluxscale", [ms2], str(tmp_path / "im"), [f"setmodel.model_image={tmp_path / 'ref.im'}"],
                      weblog=False)
    st2 = ctx2.ms["s.ms"].reference_models[REF].structure
    a, b = np.array(sorted(zip(st2.weight, st2.l, st2.m))), np.array(sorted(zip(st.weight, st.l, st.m)))
    assert np.allclose(a[:, 0], b[:, 0], rtol=1e-7, atol=0)          # a CASA image stores float32
    assert np.allclose(a[:, 1:], b[:, 1:], rtol=0, atol=1e-12)        # positions in radians
    for s, (f, _e) in _flux(tmp_path / "im").items():
        assert f == pytest.approx(_flux(tmp_path / "img")[s][0], rel=1e-7)


def test_bad_structure_files_are_one_line_errors(eb, tmp_path):
    from fluxpipe.errors import PipelineError
    d, ms, truth = eb
    (tmp_path / "bad.yaml").write_text("components:\n  - {flux_jy: 1.0}\n")
    (tmp_path / "img.fits").write_bytes(b"not a fits file")
    for val, msg in ((str(tmp_path / "nothere.yaml"), "no such file"),
                     (str(tmp_path / "bad.yaml"), "component 0 has no ra"),
                     (str(tmp_path / "img.fits"), "not a readable FITS file")):
        with pytest.raises(PipelineError, match=msg) as exc:
            run_recipe("gfluxscale", [ms], str(tmp_path / "o"), [f"setmodel.components={val}"], weblog=False)
        assert "\n" not in str(exc.value)
    with pytest.raises(PipelineError, match="describes one reference, but there are 2"):
        run_recipe("gfluxscale", [ms], str(tmp_path / "o2"), ["setmodel.components=ref.yaml",
                                                             f"setmodel.reference={REF},{TRANSFER}"], weblog=False)
    with pytest.raises(PipelineError, match="disk_arcsec and a model image/component list are both set"):
        run_recipe("gfluxscale", [ms], str(tmp_path / "o3"), ["setmodel.components=ref.yaml",
                                                             "setmodel.disk_arcsec=1.0"], weblog=False)
