"""Solar-system flux calibrators ALMA uses: names, mean radii, apparent diameters.

Radii are mean radii in km (IAU/IAG WGCCRE 2015 report; asteroids from their shape models).
Moons are placed at their planet's distance for the apparent size (the orbit radius is < 0.2 %
of the distance to Earth).
"""
from __future__ import annotations

import numpy as np

from .constants import ARCSEC, AU_KM

RAD_TO_ARCSEC = 1 / ARCSEC

MEAN_RADIUS_KM = {
    "Venus": 6051.8, "Mars": 3389.5, "Jupiter": 69911.0, "Uranus": 25362.0, "Neptune": 24622.0,
    "Callisto": 2410.3, "Ganymede": 2634.1, "Titan": 2574.73, "Io": 1821.49, "Europa": 1560.8,
    "Ceres": 469.7, "Pallas": 256.0, "Vesta": 262.7, "Juno": 123.3,
}
PARENT = {"Callisto": "Jupiter", "Ganymede": "Jupiter", "Io": "Jupiter", "Europa": "Jupiter",
          "Titan": "Saturn"}
ASTEROIDS = ("Ceres", "Pallas", "Vesta", "Juno")


def body_name(field_name: str) -> str | None:
    """'Uranus', 'URANUS', 'Ganymede_1' -> the canonical body name; None if not a known body."""
    base = field_name.strip().split("_")[0].split(" ")[0].lower()
    return next((b for b in MEAN_RADIUS_KM if b.lower() == base), None)


def apparent_diameter_arcsec(radius_km: float, distance_au) -> np.ndarray:
    """Angular diameter of a sphere of `radius_km` at `distance_au` from the observer."""
    return 2 * np.arcsin(radius_km / (np.asarray(distance_au, float) * AU_KM)) * RAD_TO_ARCSEC
