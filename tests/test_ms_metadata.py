"""Facts of the real NGC5921 MS, read without touching DATA."""
import numpy as np
import pytest

from fluxpipe.ms import read_metadata


@pytest.fixture(scope="module")
def md(ngc5921_pristine):
    return read_metadata(ngc5921_pristine)


def test_fields(md):
    assert [f.name for f in md.fields] == ["1331+30500002_0", "1445+09900002_0", "N5921_2"]
    # 3C286 at RA 13h31m08.3s, Dec +30d30m33s (B1950 coordinates in this old VLA MS differ;
    # the stored J2000 phase centre is what we check)
    assert np.rad2deg(md.fields[0].dec) == pytest.approx(30.5092, abs=1e-3)


def test_antennas(md):
    assert len(md.antennas) == 28
    assert md.antennas[14].name == "15" and md.antennas[14].station == "VLA:N2"
    assert all(a.diameter == 25.0 for a in md.antennas)
    assert md.telescope == "VLA"


def test_spw_and_correlations(md):
    assert len(md.spws) == 1
    spw = md.spws[0]
    assert spw.nchan == 63
    assert spw.centre_freq == pytest.approx(1413421909.706, abs=1.0)
    assert spw.bandwidth == pytest.approx(63 * 24414.0625)
    assert md.corr_names == ["RR", "LL"] and md.feed_basis == "circular"


def test_scans_and_rows(md):
    assert [s.number for s in md.scans] == [1, 2, 3, 4, 5, 6, 7]
    assert [s.field_ids for s in md.scans] == [[0], [1], [2], [1], [1], [2], [1]]
    assert md.nrows == 22653
    assert md.scans[0].end - md.scans[0].start == pytest.approx(330.0, abs=0.1)
    # VLA data of this era has no intents
    assert all(not f.intents for f in md.fields)
    assert {"DATA", "WEIGHT_SPECTRUM"} <= md.columns and "MODEL_DATA" not in md.columns


def test_intents_from_state(small_sim):
    ms, truth = small_sim
    md = read_metadata(ms)
    assert {f.name: f.intents - {"WVR"} for f in md.fields} == {
        "J0423-0120": {"AMPLITUDE"}, "J0530+1331": {"PHASE"}, "TargetX": {"TARGET"}}
    assert md.corr_names == ["XX", "YY"] and md.feed_basis == "linear"
