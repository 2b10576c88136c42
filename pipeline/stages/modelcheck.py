"""Is the reference's model consistent with its data? A disk size fitted to the reference's
amplitudes with antenna gains free (heuristics.disksize) against the model's size.

Red when the data call for a clearly different size (a resolved source modelled as a point, a
diameter far off): significant (chi2 rises by more than 25 from the fitted size to the model's),
the sizes differ by more than 20 %, and the two disks' visibilities differ by more than 5 % on
the longest baseline. 10-20 % is yellow. The message names the fitted size and the fix.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..heuristics.disksize import ARCSEC, DiskFit, fit_disk
from ..heuristics.resolved import disk_visibility
from ..qa import QAScore
from .common import reference_uv_data


@dataclass
class ModelCheck:
    field: str
    model_arcsec: float
    fit: DiskFit | None
    delta_chi2: float = 0.0
    vis_diff: float = 0.0
    structure: str = ""         # 'image' / 'components': checked on what the model leaves

    def summary(self) -> dict:
        if self.fit is None:
            return {"field": self.field, "model_arcsec": self.model_arcsec, "fitted_arcsec": None}
        return {"field": self.field, "model_arcsec": self.model_arcsec,
                "fitted_arcsec": self.fit.theta_arcsec, "fitted_error_arcsec": self.fit.error_arcsec,
                "delta_chi2": self.delta_chi2, "visibility_difference": self.vis_diff}

    def qa(self, ms: str) -> QAScore:
        f = self.fit
        if f is None:
            return QAScore(value=0.9, short=f"{self.field}: too few good rows to check the model's size",
                           metric="disk_size_check", ms=ms, field=self.field)
        th, tm = f.theta_arcsec, self.model_arcsec
        rel = abs(th - tm) / max(th, tm, 1e-9)
        significant = self.delta_chi2 > 25 and self.vis_diff > 0.05
        what = "a point source" if tm == 0 else f"a {tm:.3f}\" disk"
        msg = f"{self.field}: the data fit a {th:.3f}\" ± {f.error_arcsec:.3f}\" disk, the model is {what}"
        if self.structure:
            msg = (f"{self.field}: divided by the {self.structure} model, the data fit a {th:.3f}\" ± "
                   f"{f.error_arcsec:.3f}\" disk (a correct model leaves a point)")
        if significant and rel > 0.2:
            v, msg = 0.2, msg + ("; the structure model misses flux on long baselines: check the image"
                                 if self.structure else f"; set setmodel.disk_arcsec={th:.3f} or 'fit'")
        elif significant and rel > 0.1:
            v, msg = 0.6, msg + " (10-20 % apart)"
        else:
            v, msg = 1.0, msg + " (consistent)"
        return QAScore(value=v, short=msg, long=f"chi2 rises by {self.delta_chi2:.1f} from the fitted "
                       f"size to the model's; visibilities differ by {100 * self.vis_diff:.1f} % on the "
                       f"longest baseline.", metric="disk_size_arcsec", metric_value=th, units="arcsec",
                       ms=ms, field=self.field)


def model_check(cube, md, st) -> ModelCheck:
    """A structure model (image, components) is checked on the model-divided data: a correct one
    leaves a point source (the fitted residual disk is compared with 0)."""
    m = st.reference_model
    structure = m.structure is not None
    data = reference_uv_data(cube, md.field_by_name(st.reference).id, divided=structure)
    fit = fit_disk(*data, limb=m.limb) if data is not None else None
    check = ModelCheck(st.reference, m.disk_arcsec, fit, structure=m.structure.kind if structure else "")
    if fit is not None:
        scale = max(fit.chi2_min / fit.dof, 1.0)
        check.delta_chi2 = (fit.chi2_of(m.disk_arcsec) - fit.chi2_min) / scale
        qmax = float(data[0].max())
        v = lambda t: float(disk_visibility(np.array([qmax]), t * ARCSEC, m.limb)[0])  # noqa: E731
        check.vis_diff = abs(v(fit.theta_arcsec) - v(m.disk_arcsec))
    return check
