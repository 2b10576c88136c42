"""Solutions at data times (calapply.interpolate): flagged solutions skipped, or CASA's rule."""
import numpy as np

from fluxpipe.calapply import interpolate
from fluxpipe.caltable import CalTable


def _table(times, phases_deg, flags):
    """One antenna, one spw: G solutions with unit amplitude and the given phases."""
    n = len(times)
    g = np.exp(1j * np.radians(phases_deg)).astype(np.complex64)[:, None, None]
    z = np.zeros(n, int)
    return CalTable("G Jones", np.array(times, float), z, z, z, z, z, g, np.zeros((n, 1, 1), np.float32),
                    np.array(flags, bool)[:, None, None], np.ones((n, 1, 1), np.float32))


def test_flagged_solutions_interpolated_or_flagged_as_casa():
    # solutions at 10, 20 (flagged), 30, 40 s; phases 0, 999 (never to be used), 20, 30 degrees
    ct = _table([10, 20, 30, 40], [0, 999, 20, 30], [False, True, False, False])
    rows = np.arange(4)
    t = np.array([5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 45.0])
    g, ok = interpolate(ct, rows, t, 1, "linear")
    ph = np.degrees(np.angle(g[:, 0, 0, 0]))
    # skipping the flagged one: 10 -> 30 s interpolated from 0 to 20 degrees; nearest outside
    assert ok[:, 0, 0, 0].all()
    assert np.allclose(ph, [0, 0, 5, 10, 15, 20, 25, 30], atol=1e-4)
    g, ok = interpolate(ct, rows, t, 1, "linear", flagged="flag")
    ok = ok[:, 0, 0, 0]
    ph = np.degrees(np.angle(g[:, 0, 0, 0]))
    # CASA: the flagged solution's own time and both intervals touching it are flagged
    assert ok.tolist() == [True, True, False, False, False, True, True, True]
    assert np.allclose(ph[ok], [0, 0, 20, 25, 30], atol=1e-4)
    g, ok = interpolate(ct, rows, t, 1, "nearest", flagged="flag")
    # nearest: flagged only where the nearest solution is the flagged one (15 s ties to 10)
    assert ok[:, 0, 0, 0].tolist() == [True, True, True, False, False, True, True, True]
