"""Reference structure from a file: a FITS model image (CLEAN components, Jy/pixel) or a component
list (YAML or JSON). Both become a `skymodel.Structure`: components with flux weights and
offsets (l, m) from the field's phase centre, so an image whose reference position differs from
the phase centre is shifted correctly; the model's visibilities are predicted by
heuristics.predict and scaled to the reference's flux spectrum (setjy's rule for model images).

Component list (a YAML or JSON mapping; JSON is YAML):

    reffreq_hz: 4.8e9             # optional: frequency of the fluxes and spectral indices below
    components:
      - flux_jy: 5.2              # required, > 0
        ra: 13h31m08.288s         # position: ra and dec (sexagesimal, or degrees as numbers) ...
        dec: +30d30m32.96s
      - flux_jy: 0.6
        offset_arcsec: [0.5, -0.3]   # ... or (east, north) offset from the field's phase centre
        shape: gaussian           # 'point' (default) or 'gaussian'
        major_arcsec: 0.3         # FWHM
        minor_arcsec: 0.2
        pa_deg: 40                # position angle of the major axis, north through east
        spix: -0.8                # optional spectral index of this component (about reffreq_hz)

Image: the first plane of a FITS image with BUNIT Jy/pixel and a celestial WCS (read with
astropy), or a CASA image directory (e.g. `3C286_C.clean.model.tt0`, the VLA's `3C286_X.im`; read
with python-casacore); every non-zero pixel is a point component at its pixel centre. RA/Dec are
taken as J2000 (the MS's frame; ICRS and J2000 differ by ~20 mas).
"""
from __future__ import annotations

import hashlib
import os

import numpy as np
import yaml

from .errors import PipelineError, first_line
from .heuristics.constants import ARCSEC
from .skymodel import Structure

MAX_COMPONENTS = 200_000


def _lm(ra: np.ndarray, dec: np.ndarray, ra0: float, dec0: float) -> tuple[np.ndarray, np.ndarray]:
    """Direction cosines of (ra, dec) about the phase centre (ra0, dec0), radians (SIN projection)."""
    l = np.cos(dec) * np.sin(ra - ra0)
    m = np.sin(dec) * np.cos(dec0) - np.cos(dec) * np.sin(dec0) * np.cos(ra - ra0)
    return l, m


def content_sha(path: str) -> str:
    """Hash of a file's bytes, or of every file of a directory (a CASA image)."""
    h = hashlib.sha256()
    if os.path.isdir(path):
        for root, _, files in sorted(os.walk(path)):
            for f in sorted(files):
                h.update(f.encode())
                with open(os.path.join(root, f), "rb") as fh:
                    h.update(fh.read())
    else:
        with open(path, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:16]


def load_structure(path: str, ra0: float, dec0: float) -> Structure:
    """The structure in `path` (.fits/.fit/.fts: image; else a YAML/JSON component list) about the
    phase centre (ra0, dec0) in radians. One-line PipelineErrors name the file and the fix."""
    if os.path.isdir(path):
        return _from_casa_image(path, ra0, dec0)
    if not os.path.isfile(path):
        raise PipelineError(f"{path}: no such file; give an existing FITS model image or component list")
    if path.lower().endswith((".fits", ".fit", ".fts")):
        return _from_image(path, ra0, dec0)
    return _from_list(path, ra0, dec0)


def _from_image(path: str, ra0: float, dec0: float) -> Structure:
    from astropy.io import fits
    from astropy.wcs import WCS
    try:
        with fits.open(path) as hdul:
            hdu = next((h for h in hdul if h.data is not None and h.data.ndim >= 2), None)
            if hdu is None:
                raise PipelineError(f"{path}: no image data in the FITS file; give a model image")
            header, data = hdu.header, np.asarray(hdu.data, float)
    except OSError as exc:
        raise PipelineError(f"{path}: not a readable FITS file ({first_line(exc)}); give a FITS "
                            f"model image (exportfits) or a component list") from None
    unit = str(header.get("BUNIT", "")).replace(" ", "").upper()
    if unit not in ("JY/PIXEL", "JY/PIX"):
        raise PipelineError(f"{path}: BUNIT is '{header.get('BUNIT', '')}', not Jy/pixel; give a model "
                            f"image of CLEAN components (e.g. *.model.tt0 through exportfits)")
    wcs = WCS(header)
    if not wcs.has_celestial:
        raise PipelineError(f"{path}: no celestial axes (RA/DEC) in its WCS; give a sky image")
    while data.ndim > 2:               # the first Stokes / frequency plane
        data = data[0]
    ys, xs, w = _pixels(path, data)
    ra, dec = wcs.celestial.pixel_to_world_values(xs.astype(float), ys.astype(float))
    l, m = _lm(np.radians(ra), np.radians(dec), ra0, dec0)
    freq = 0.0
    for i, t in enumerate(wcs.wcs.ctype):
        if t.upper().startswith("FREQ"):
            freq = float(wcs.wcs.crval[i])
    return Structure(source=path, kind="image", sha=content_sha(path), weight=w.tolist(), l=l.tolist(),
                     m=m.tolist(), reffreq_hz=freq, total_jy=float(w.sum()))


def _pixels(path: str, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-zero pixels of a 2-D plane: (y, x, value); one-line errors for empty or restored images."""
    ys, xs = np.nonzero(np.nan_to_num(data))
    if not len(xs):
        raise PipelineError(f"{path}: every pixel is zero; give a model image with CLEAN components")
    if len(xs) > MAX_COMPONENTS:
        raise PipelineError(f"{path}: {len(xs)} non-zero pixels (at most {MAX_COMPONENTS}); give a model "
                            f"image of CLEAN components, not a restored image")
    w = np.nan_to_num(data)[ys, xs]
    if w.sum() <= 0:
        raise PipelineError(f"{path}: the image's total flux is {w.sum():.4g} Jy (<= 0); give a model image "
                            f"of the source's CLEAN components")
    return ys, xs, w


def _from_casa_image(path: str, ra0: float, dec0: float) -> Structure:
    """A CASA image (e.g. the VLA's 3C286_X.im, *.model.tt0) through python-casacore."""
    from casacore.images import image
    try:
        im = image(path)
    except RuntimeError as exc:
        raise PipelineError(f"{path}: not a readable CASA image ({first_line(exc, 80)}); give a "
                            f"CASA or FITS model image or a component list") from None
    if im.unit().replace(" ", "").upper() not in ("JY/PIXEL", "JY/PIX"):
        raise PipelineError(f"{path}: its unit is '{im.unit()}', not Jy/pixel; give a model image of CLEAN "
                            f"components (*.model.tt0)")
    cs = im.coordinates()
    if cs.get_names()[0] != "direction":
        raise PipelineError(f"{path}: its first axes are not RA/Dec; give a sky image")
    data = im.getdata()             # numpy order: CASA's axes reversed, RA last
    lead = data.ndim - 2
    ys, xs, w = _pixels(path, data[(0,) * lead])
    world = np.array([im.toworld([0] * lead + [int(y), int(x)])[-2:] for y, x in zip(ys, xs)])
    l, m = _lm(world[:, 1], world[:, 0], ra0, dec0)
    freq = float(cs.get_coordinate("spectral").get_referencevalue()) if "spectral" in cs.get_names() else 0.0
    return Structure(source=path, kind="image", sha=content_sha(path), weight=w.tolist(), l=l.tolist(),
                     m=m.tolist(), reffreq_hz=freq, total_jy=float(w.sum()))


def _angle(v, is_ra: bool) -> float:
    """Radians from '13h31m08.288s', '+30d30m32.96s', '13:31:08.288' (ra: hours) or degrees."""
    from astropy.coordinates import Angle
    if isinstance(v, str):
        unit = ("hourangle" if is_ra else "deg") if ":" in v else None
        return float(Angle(v, unit=unit).rad)
    return float(np.radians(float(v)))


def _from_list(path: str, ra0: float, dec0: float) -> Structure:
    try:
        with open(path) as fh:
            doc = yaml.safe_load(fh)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PipelineError(f"{path}: not a readable YAML/JSON component list ({first_line(exc)}); "
                            f"see the fluxpipe.components docstring for the format") from None
    comps = doc.get("components") if isinstance(doc, dict) else None
    if not isinstance(comps, list) or not comps:
        raise PipelineError(f"{path}: no 'components:' list; give a mapping with a list of components")
    cols = {k: [] for k in ("weight", "l", "m", "major", "minor", "pa", "spix")}
    for i, c in enumerate(comps):
        where = f"{path}: component {i}"
        if not isinstance(c, dict):
            raise PipelineError(f"{where} is not a mapping; give flux_jy and a position")
        try:
            flux = float(c["flux_jy"])
            if "offset_arcsec" in c:
                east, north = (float(x) for x in c["offset_arcsec"])
                l, m = east * ARCSEC, north * ARCSEC
            else:
                ra, dec = _angle(c["ra"], True), _angle(c["dec"], False)
                l, m = (float(x) for x in _lm(np.array(ra), np.array(dec), ra0, dec0))
            shape = str(c.get("shape", "point")).lower()
            if shape not in ("point", "gaussian"):
                raise ValueError(f"shape '{shape}' (give 'point' or 'gaussian')")
            gauss = shape == "gaussian"
            major = float(c["major_arcsec"]) * ARCSEC if gauss else 0.0
            minor = float(c.get("minor_arcsec", c["major_arcsec"] if gauss else 0.0)) * ARCSEC if gauss else 0.0
            pa = np.radians(float(c.get("pa_deg", 0.0)))
            spix = float(c.get("spix", 0.0))
        except KeyError as exc:
            raise PipelineError(f"{where} has no {exc.args[0]}; give flux_jy and ra/dec or offset_arcsec") from None
        except (TypeError, ValueError) as exc:
            raise PipelineError(f"{where}: {exc}; fix the value") from None
        if flux <= 0 or (gauss and (major <= 0 or minor <= 0 or minor > major)):
            raise PipelineError(f"{where}: flux_jy must be > 0 and a Gaussian needs major >= minor > 0")
        for k, v in zip(cols, (flux, l, m, major, minor, pa, spix)):
            cols[k].append(v)
    ref = float(doc.get("reffreq_hz", 0.0) or 0.0)
    if any(cols["spix"]) and ref <= 0:
        raise PipelineError(f"{path}: components have spectral indices but no reffreq_hz; give reffreq_hz")
    return Structure(source=path, kind="components", sha=content_sha(path), reffreq_hz=ref,
                     total_jy=float(sum(cols["weight"])), **cols)
