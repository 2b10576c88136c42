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
from pydantic import BaseModel

from ..heuristics.disksize import ARCSEC, DiskFit, fit_disk
from ..heuristics.resolved import disk_visibility
from ..qa import QAScore, disk_size_check
from .common import reference_uv_data


class ModelCheckSummary(BaseModel):
    field: str
    model_arcsec: float
    fitted_arcsec: float | None = None
    fitted_error_arcsec: float | None = None
    delta_chi2: float | None = None
    visibility_difference: float | None = None


@dataclass
class ModelCheck:
    field: str
    model_arcsec: float
    fit: DiskFit | None
    delta_chi2: float = 0.0
    vis_diff: float = 0.0
    structure: str = ""         # 'image' / 'components': checked on what the model leaves

    def summary(self) -> ModelCheckSummary:
        if self.fit is None:
            return ModelCheckSummary(field=self.field, model_arcsec=self.model_arcsec)
        return ModelCheckSummary(field=self.field, model_arcsec=self.model_arcsec,
                                 fitted_arcsec=self.fit.theta_arcsec, fitted_error_arcsec=self.fit.error_arcsec,
                                 delta_chi2=self.delta_chi2, visibility_difference=self.vis_diff)

    def qa(self, ms: str) -> QAScore:
        return disk_size_check(ms, self.field, self.model_arcsec, self.fit, self.delta_chi2, self.vis_diff,
                               self.structure)


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
