"""resolvedcal: reference antennas and, for a resolved reference, the short-baseline antennas."""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..context import ResolvedSelection
from ..gaincal import ranked_refants
from ..heuristics import resolved
from ..heuristics.constants import ARCSEC
from ..ms.metadata import MSMetadata
from ..ms.select import antenna_ids
from ..qa import nonfinite_data, resolved_antennas
from ..skymodel import SourceModel
from ..stage import Inputs, Results, Stage, record_inputs
from .common import cube_fields, save_artefact, uv_amplitudes
from .modelcheck import ModelCheckSummary, model_check

MAX_PLOT_POINTS = 20000


class NonFinite(BaseModel):
    field: str
    spw: int
    samples: int                    # non-finite (flagged, left out)
    of: int                         # all the field's samples in the spw


class ResolvedcalSummary(ResolvedSelection):
    model_config = ConfigDict(extra="forbid")
    refant: str
    cube_pass_s: float
    cube_rows: int
    model_check: ModelCheckSummary
    nonfinite: list[NonFinite] = []


class ResolvedcalInputs(Inputs):
    hm_resolvedcals: Literal["automatic", "manual", "all"] = Field("automatic", description="the reference's antennas: 'automatic' (ALMA's short-baseline selection for a disk), 'manual' (the antenna list below) or 'all' (every antenna: the model is trusted on every baseline, e.g. a planet's Butler-JPL-Horizons model)", json_schema_extra={"example": "all"})
    peak_fraction: float = Field(0.2, gt=0, lt=1, description="keep baselines whose disk visibility exceeds this fraction of the shortest baseline's")
    antenna: str = Field("", description="manual antenna list (names or ids) for the reference field, with hm_resolvedcals=manual", json_schema_extra={"blank": "with 'automatic': antennas whose baselines keep the disk visibility above peak_fraction", "example": "DA41,DA42,DV03"})
    refant: str = Field("", description="reference antennas, best first (names or ids)", json_schema_extra={"blank": "ALMA's ranking: fewest flagged data and closest to the array centre", "example": "DV05,DA41"})


def select_resolved_antennas(md: MSMetadata, model: SourceModel, refant: int,
                             peak_fraction: float = 0.2) -> ResolvedSelection:
    """ALMA's peak-fraction selection around the refant (heuristics.resolved)."""
    if model.structure is not None:
        return ResolvedSelection(reason=f"{model.structure.kind} model: all antennas (it predicts every baseline)")
    if model.is_point:
        return ResolvedSelection(reason="point source: all antennas")
    low = min(s.centre_freq for s in md.spws)
    ants, cut, fell = resolved.select_antennas(md.antenna_positions(), refant,
                                               model.disk_arcsec * ARCSEC, low, peak_fraction)
    pos = md.antenna_positions()[ants]
    i, j = np.triu_indices(len(ants), 1)
    bl = np.linalg.norm(pos[i] - pos[j], axis=1) if len(ants) > 1 else np.zeros(1)
    return ResolvedSelection(antennas=[] if fell else [int(a) for a in ants],
                             names=[md.antennas[a].name for a in ants], cutoff_m=cut, fell_back=fell,
                             uvrange_m=[float(bl.min()), float(bl.max())],
                             reason="fewer than 3 antennas: all used" if fell else "ALMA peak-fraction selection")


class Resolvedcal(Stage):
    name = "resolvedcal"
    Inputs = ResolvedcalInputs
    Summary = ResolvedcalSummary
    description = "Choose the reference antennas and, for a resolved reference, its short-baseline antennas"

    uses_cube = True

    def plots(self, rec, st, outdir, base, abspath):
        from ..weblog.plots import amp_vs_uvdist
        return amp_vs_uvdist(abspath(rec.artefacts["ampuv"]), outdir, base, st.reference, st.resolved.antennas)

    def run(self, s, inputs, user):
        context, ms, md, st = s.context, s.name, s.md, s.state
        cube, ref = s.cube()
        refs = ranked_refants(md, cube.unflagged_fraction(cube_fields(st)), inputs.refant)
        heur = {"refant": ",".join(md.antennas[a].name for a in refs[:3])}
        if inputs.hm_resolvedcals == "all":
            sel = ResolvedSelection(reason="all antennas: the model is trusted on every baseline (hm_resolvedcals=all)")
        elif inputs.hm_resolvedcals == "manual" or inputs.antenna:
            ants = sorted({i for t in inputs.antenna.split(",") if t for i in antenna_ids(t, md)})
            sel = ResolvedSelection(antennas=ants, names=[md.antennas[a].name for a in ants], reason="manual")
        else:
            sel = select_resolved_antennas(md, st.reference_model, refs[0], inputs.peak_fraction)
            heur["antenna"] = ",".join(sel.names) if sel.antennas else ""
        qa = [resolved_antennas(ms, len(sel.antennas), len(md.antennas), sel.reason, sel.fell_back, st.reference)]
        check = model_check(cube, md, st)
        qa.append(check.qa(ms))
        bad = [NonFinite(field=md.fields[f].name, spw=spw, samples=n, of=info.samples.get(spw, 0))
               for f, info in sorted(cube.index.fields.items()) for spw, n in sorted(info.nonfinite.items())]
        q = nonfinite_data(ms, [(b.field, b.spw, b.samples, b.of) for b in bad])
        qa += [q] if q else []
        art = {"ampuv": _ampuv_artefact(context, ms, md, cube, st)}
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, heur),
                       summary=ResolvedcalSummary(refant=md.antennas[refs[0]].name, **sel.model_dump(),
                                                  cube_pass_s=ref.seconds, cube_rows=ref.rows,
                                                  model_check=check.summary(), nonfinite=bad),
                       artefacts=art, updates={"resolved": sel, "refants": refs, "cube": ref})


def _ampuv_artefact(context, ms, md, cube, st) -> str:
    """Reference amplitude vs uv distance (raw channel averages, first spw) and its model."""
    fid = md.field_by_name(st.reference).id
    spw = cube.spw_ids()[0]
    uv, amp, a1, a2, uvws = [], [], [], [], []
    n = 0
    for b in cube.blocks(fields=[fid], spws=[spw]):
        ok, d, avg, _ = uv_amplitudes(b, *b.raw())
        uv.append(d)
        amp.append(avg)
        a1.append(b.antenna1[ok])
        a2.append(b.antenna2[ok])
        uvws.append(b.uvw[ok])
        n += int(ok.sum())
        if n > MAX_PLOT_POINTS:
            break
    cat = lambda x: np.concatenate(x) if x else np.zeros(0)  # noqa: E731
    uv, amp, a1, a2 = cat(uv), cat(amp), cat(a1), cat(a2)
    q = np.linspace(0, uv.max() if uv.size else 1.0, 200)
    s = md.spws[spw]
    uvw = np.stack([q, np.zeros_like(q), np.zeros_like(q)], axis=1)
    model = st.reference_model
    fmid = s.chan_freq[[s.nchan // 2]]
    extra = {}
    if model.structure is not None:     # 2-D structure: the model at each plotted visibility
        pts = model.evaluate(spw, fmid, np.concatenate(uvws) if uvws else np.zeros((0, 3)))[:, 0]
        extra = {"model_pts": np.abs(pts), "point_level": float(model.spectrum(spw, fmid)[0]),
                 "structure": f"{model.structure.kind} model"}
        m = np.full(len(q), np.nan)
    else:
        m = np.broadcast_to(model.evaluate(spw, fmid, uvw), (len(q), 1))[:, 0]
    return save_artefact(context, ms, "resolvedcal.ampuv", uv=uv, amp=amp, antenna1=a1, antenna2=a2,
                         model_uv=q, model_amp=np.abs(m), spw=spw, **extra)
