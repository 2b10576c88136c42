"""Physical and angular constants, defined once for the numerics and the framework."""
import numpy as np

C_LIGHT = 299792458.0            # speed of light, m/s
ARCSEC = np.pi / 180 / 3600      # one arcsecond in radians
AU_KM = 149597870.700            # astronomical unit, km (IAU 2012)
