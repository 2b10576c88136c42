"""MODEL_DATA writing: values right, other rows 1+0j, DATA and FLAG untouched byte for byte."""
import hashlib
import os

import numpy as np
import pytest
from casacore.tables import table

from fluxpipe.errors import SelectionError
from fluxpipe.ms import read_metadata, select, write_model


def digest(ms, col):
    t = table(ms, ack=False)
    h = hashlib.sha256(t.getcol(col).tobytes()).hexdigest()
    t.close()
    return h


def test_write_model_data(ngc5921_copy):
    ms = ngc5921_copy
    before = {c: digest(ms, c) for c in ("DATA", "FLAG", "WEIGHT", "UVW", "WEIGHT_SPECTRUM")}
    md = read_metadata(ms)
    n = write_model(md, select(md, field="1331+30500002_0"),
                    lambda f, s, freq, uvw: (14.9 * (freq / 1.4e9) ** -0.5)[:, None])
    assert n == 4509
    t = table(ms, ack=False)
    model, fid = t.getcol("MODEL_DATA"), t.getcol("FIELD_ID")
    freq = md.spws[0].chan_freq
    # Stokes I into the parallel hands (RR, LL), 0 into any cross hands, as setjy does
    assert md.corr_types == [["RR", "LL"]]
    par, cross = [0, 1], []
    assert np.allclose(model[fid == 0][..., par], (14.9 * (freq / 1.4e9) ** -0.5)[None, :, None], rtol=1e-6)
    assert np.all(model[fid == 0][..., cross] == 0)
    assert np.all(model[fid != 0][..., par] == 1 + 0j) and np.all(model[fid != 0][..., cross] == 0)
    t.close()
    assert {c: digest(ms, c) for c in before} == before
    # a second write to another field keeps the first field's model
    write_model(md, select(md, field="1"), lambda f, s, freq, uvw: 2.5)
    t = table(ms, ack=False)
    model = t.getcol("MODEL_DATA")
    assert np.all(model[fid == 1][..., par] == 2.5) and np.allclose(model[fid == 0].real, model[fid == 0][0].real)
    assert np.all(model[fid == 2][..., par] == 1 + 0j) and np.all(model[fid == 2][..., cross] == 0)
    t.close()


def test_bad_selection_leaves_ms_unchanged(ngc5921_copy):
    ms = ngc5921_copy
    files = sorted(os.listdir(ms))
    md = read_metadata(ms)
    with pytest.raises(SelectionError):
        write_model(md, select(md, field="nosuchfield"), lambda *a: 1.0)
    assert sorted(os.listdir(ms)) == files
    assert "MODEL_DATA" not in table(ms, ack=False).colnames()


def test_write_model_four_correlations(tmp_path):
    """On XX, XY, YX, YY data, Stokes I goes into XX and YY and 0 into XY and YX, for the
    written field and (1 in XX, YY) for every other row; and the whole recipe runs on such data
    and recovers the simulated fluxes."""
    from fluxpipe.recipe import run_recipe
    from fluxpipe.sim import simulate
    ms = str(tmp_path / "fp.ms")
    truth = simulate(ms, "small_fullpol", seed=3)
    md = read_metadata(ms)
    assert md.corr_types == [["XX", "XY", "YX", "YY"]]
    write_model(md, select(md, field="J0530+1331"), lambda f, s, freq, uvw: (0.9 * (freq / 1e11) ** -0.7)[:, None])
    t = table(ms, ack=False)
    model, fid, dd = t.getcol("MODEL_DATA"), t.getcol("FIELD_ID"), t.getcol("DATA_DESC_ID")
    t.close()
    spw = table(ms + "/SPECTRAL_WINDOW", ack=False).getcol("CHAN_FREQ")
    f1 = fid == truth["fields"]["J0530+1331"]["id"]
    want = 0.9 * (spw[dd[f1]] / 1e11) ** -0.7
    assert np.allclose(model[f1][..., 0], want, rtol=1e-6) and np.allclose(model[f1][..., 3], want, rtol=1e-6)
    assert np.all(model[..., 1] == 0) and np.all(model[..., 2] == 0)
    assert np.all(model[~f1][..., [0, 3]] == 1 + 0j)
    ctx = run_recipe("gfluxscale", [ms], str(tmp_path / "o"), weblog=False)
    st = ctx.ms["fp.ms"]
    for s, v in st.fluxes["J0530+1331"].spws.items():
        true = truth["fields"]["J0530+1331"]["flux_per_spw"][s]
        assert abs(v.flux_jy - true) < 4 * v.error_jy, (s, v.flux_jy, true, v.error_jy)
    t = table(ms, ack=False)
    model = t.getcol("MODEL_DATA")
    t.close()
    assert np.all(model[..., 1] == 0) and np.all(model[..., 2] == 0)      # write-back: cross hands 0
    assert np.all(model[f1][..., 0] == model[f1][..., 3]) and not np.allclose(model[f1][..., 0], want)


def test_write_back_is_read_back(tmp_path):
    """writeback reads MODEL_DATA back for every field it wrote (hifv_fluxboot's check): 1.0 when
    each holds its model; a field whose rows are CASA's default 1 Jy again scores 0.0."""
    from casacore.tables import table

    from fluxpipe import run_recipe
    from fluxpipe.ms.metadata import read_metadata
    from fluxpipe.qa import model_data_check
    from fluxpipe.sim import simulate
    from fluxpipe.skymodel import fitted_model
    from fluxpipe.stages.writeback import read_back
    ms = str(tmp_path / "s.ms")
    simulate(ms, "small", seed=2)
    ctx = run_recipe("gfluxscale", [ms], str(tmp_path / "o"), weblog=False)
    rec = next(r for r in ctx.results if r.stage == "writeback")
    q = next(q for q in rec.qa if q.metric == "model_data_check")
    assert q.value == 1.0 and q.metric_value < 1e-5
    st = ctx.ms["s.ms"]
    md = read_metadata(ms)
    with table(ms, readonly=False, ack=False) as t:
        fid = t.getcol("FIELD_ID")
        rows = np.flatnonzero(fid == md.field_by_name("J0530+1331").id)
        m = t.getcol("MODEL_DATA", int(rows[0]), int(rows[-1] - rows[0] + 1))
        keep = fid[rows[0]:rows[-1] + 1] == md.field_by_name("J0530+1331").id
        m[keep] = 1.0
        t.putcol("MODEL_DATA", m, int(rows[0]), int(rows[-1] - rows[0] + 1))
    fit = st.fluxes["J0530+1331"].fit
    models = {md.field_by_name(st.reference).id: st.reference_model,
              md.field_by_name("J0530+1331").id: fitted_model("J0530+1331", fit.flux_jy, fit.reffreq_hz, fit.spidx_poly)}
    q = model_data_check("s.ms", read_back(md, models))
    assert q.value == 0.0 and "J0530+1331: still CASA's default 1 Jy" in q.short, q.short
