"""ampflag: flag outlier amplitude solutions per field and spw, into a table of its own."""
from __future__ import annotations

import os
import shutil

import numpy as np
from pydantic import Field

from ..caltable import CalTable, read_caltable
from ..context import FlagRecord
from ..errors import PipelineError
from ..heuristics import outliers
from ..heuristics.fluxscale import gain_amplitudes
from ..qa import outlier_flags
from ..stage import Inputs, Results, Stage, Summary, record_inputs
from .common import needs, solutions_artefact


class AmpflagInputs(Inputs):
    amp_outlier_sigma: float = Field(50.0, gt=0, description="flag |amp - median| > this many MADs (per field and spw)")


class AmpflagSummary(Summary):
    flags: list[FlagRecord]
    table: str
    input_table: str


def flag_records(ct: CalTable, new: np.ndarray, dev: np.ndarray, amp: np.ndarray, sigma: float) -> list[FlagRecord]:
    """One record per new flag: field, spw, antenna, polarisation, time, amplitude, deviation."""
    rec = []
    for r, p in zip(*np.nonzero(new)):
        rec.append(FlagRecord(field=ct.field_names[ct.field_id[r]] if ct.field_names else int(ct.field_id[r]),
                              spw=int(ct.spw_id[r]), antenna=ct.antenna_names[ct.antenna1[r]] if ct.antenna_names
                              else int(ct.antenna1[r]), pol=int(p), time=float(ct.time[r]),
                              amplitude=float(amp[r, p]), deviation_mad=float(dev[r, p]),
                              reason=f"|amp - median| > {sigma} MAD"))
    return rec


class Ampflag(Stage):
    name = "ampflag"
    Inputs = AmpflagInputs
    Summary = AmpflagSummary
    description = "Robust outlier flagging of the amplitude solutions"

    def plots(self, rec, st, outdir, base, abspath):
        from ..weblog.plots import gain_per_antenna
        return gain_per_antenna(abspath(rec.artefacts["solutions"]), outdir, base)

    def page(self, rec, st):
        """The flags counted by antenna, most flagged first (the table itself is collapsed)."""
        from collections import Counter
        return {"by_antenna": Counter(str(f.antenna) for f in self.summary_of(rec).flags).most_common()}

    def run(self, s, inputs, user):
        context, ms, st = s.context, s.name, s.state
        src = needs(context, ms, "amplitude", self.name)
        ct = read_caltable(context.abspath(src.table))
        amp = gain_amplitudes(ct.cparam)[:, 0, :]
        new, dev = outliers.outlier_flags(amp, ct.flag[:, 0, :], ct.field_id * 1000 + ct.spw_id,
                                          inputs.amp_outlier_sigma)
        good = ~ct.flag[:, 0, :]
        if good.sum() and new.sum() > 0.5 * good.sum():
            raise PipelineError(f"ampflag.amp_outlier_sigma={inputs.amp_outlier_sigma:g} would flag {new.sum()} of "
                                f"the {good.sum()} amplitude solutions (outliers are few; that is the data's own "
                                f"scatter); give a larger threshold (the recipe's: 50)")
        flags = flag_records(ct, new, dev, amp, inputs.amp_outlier_sigma)
        rel = f"{ms}.{self.name}.tbl"
        out = context.abspath(rel)
        if os.path.exists(out):
            shutil.rmtree(out)
        shutil.copytree(ct.path, out)          # the input table is never edited in place
        if flags:
            from casacore.tables import table
            t = table(out, ack=False, readonly=False)
            t.putcol("FLAG", ct.flag | new[:, None, :])
            t.close()
        ct.flag = ct.flag | new[:, None, :]
        qa = [outlier_flags(ms, len(flags))]
        lib = [e for e in st.callibrary if e.role != "amplitude"] + [
            src.model_copy(update={"table": rel, "stage": self.name})]      # as solved (debiased ...)
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, {}),
                       summary=AmpflagSummary(flags=flags, table=rel, input_table=src.table),
                       artefacts={"solutions": solutions_artefact(context, ms, self.name, ct)},
                       updates={"flags": flags, "callibrary": lib})
