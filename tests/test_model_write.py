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
