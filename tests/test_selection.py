"""The CASA selection grammar, resolved against NGC5921 and a simulated MS."""
import numpy as np
import pytest

from fluxpipe.errors import SelectionError
from fluxpipe.ms import read_metadata, select, selected_rows
from fluxpipe.ms.select import baseline_mask


@pytest.fixture(scope="module")
def md(ngc5921_pristine):
    return read_metadata(ngc5921_pristine)


def test_fields(md):
    assert select(md, field="1445+09900002_0").fields == {1}
    assert select(md, field="0,2").fields == {0, 2}
    assert select(md, field="0~1").fields == {0, 1}
    assert select(md, field="1*").fields == {0, 1}
    assert select(md, field="").fields is None


def test_spw_channels(md):
    s = select(md, spw="0:4~59")
    assert s.channels(0).tolist() == list(range(4, 60))
    s = select(md, spw="0:0~3;10~12")
    assert s.channels(0).tolist() == [0, 1, 2, 3, 10, 11, 12]
    assert select(md, spw="*").spws is None
    assert select(md, spw="0").channels(0) is None


def test_antenna_names_before_ids(md):
    # VLA antennas are named '1'..'28': a numeric string is a name first (as CASA does)
    a1 = np.array([0, 13, 14, 14])
    a2 = np.array([14, 14, 15, 16])
    m = baseline_mask(select(md, antenna="15").antennas, a1, a2)
    assert m.tolist() == [True, True, True, True]  # antenna named '15' is id 14
    m = baseline_mask(select(md, antenna="15&16").antennas, a1, a2)
    assert m.tolist() == [False, False, True, False]
    m = baseline_mask(select(md, antenna="!1,2,3").antennas, np.array([0, 3, 1]), np.array([5, 6, 7]))
    assert m.tolist() == [False, True, False]
    m = baseline_mask(select(md, antenna="1,15,16&").antennas, a1, a2)
    assert m.tolist() == [True, False, True, False]


def test_rows_by_scan_and_time(md):
    rows = selected_rows(md, select(md, scan="2"))
    from casacore.tables import taql
    t = taql(f"select rowid() as r from '{md.path}' where SCAN_NUMBER==2")
    assert rows.tolist() == t.getcol("r").tolist() and len(rows) == 1890
    sc = md.scans[1]
    from fluxpipe.ms.select import mjd_to_date
    y, mo, d = mjd_to_date(sc.start)
    h = (sc.start % 86400) / 3600
    tr = f"{y}/{mo:02d}/{d:02d}/{int(h):02d}:{int(h * 60 % 60):02d}:00~{int(h):02d}:{int(h * 60 % 60) + 3:02d}:00"
    rows_t = selected_rows(md, select(md, timerange=tr))
    assert set(rows_t) <= set(selected_rows(md, select(md, scan="2~3")))
    assert len(rows_t) > 0


def test_uvrange_parse():
    from fluxpipe.ms.select import parse_uvrange
    assert parse_uvrange("<120m") == [(0.0, 120.0, False)]
    assert parse_uvrange("0~15klambda") == [(0.0, 15000.0, True)]
    assert parse_uvrange(">1km") == [(1000.0, np.inf, False)]


@pytest.mark.parametrize("kw,needle", [
    ({"field": "3C999"}, "valid fields: 1331+30500002_0, 1445+09900002_0, N5921_2"),
    ({"spw": "4"}, "valid spws: 0"),
    ({"spw": "0:50~80"}, "channels 0~62"),
    ({"antenna": "VA99"}, "valid antennas: 1, 2, 3"),
    ({"scan": "9"}, "valid scans: 1, 2, 3, 4, 5, 6, 7"),
    ({"uvrange": "5parsec"}, "units m, km"),
    ({"intent": "AMPLITUDE"}, "no field has intent"),
])
def test_bad_selection(md, kw, needle):
    with pytest.raises(SelectionError) as ei:
        select(md, **kw)
    msg = str(ei.value)
    assert needle in msg and "\n" not in msg
