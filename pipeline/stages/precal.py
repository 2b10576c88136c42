"""precal: the user's calibration tables (delay K, bandpass B, Tsys, gains G/T), pre-applied in
every solve and in the derived fluxes, as CASA's gaincal(gaintable=[...]) does.

Inputs follow gaincal's: parallel lists gaintable, gainfield, interp, spwmap, calwt (a shorter
list leaves the remaining tables at CASA's defaults: '', 'linear', no map, calwt True; delays
never scale weights). Each table is checked before any solving: it exists, is a caltable of a
type fluxpipe applies, and belongs to this MS (same antennas; its spws' frequencies inside the
MS's windows, after the spwmap); a spwmap longer than the MS's spws or pointing at a spw the
table lacks is an error. Tables are applied per channel inside the one pass.
"""
from __future__ import annotations

import os

import numpy as np
from pydantic import BaseModel, Field

from ..calapply import ApplySpec
from ..context import CalEntry
from ..errors import CalTableError
from ..gaincal import load_specs
from ..qa import tables_applied
from ..stage import Inputs, Results, Stage, Summary, record_inputs


class PrecalInputs(Inputs):
    gaintable: list[str] = Field([], description="CASA caltables to pre-apply (K, B, Tsys, G, T), as gaincal's gaintable", json_schema_extra={"blank": "nothing pre-applied", "example": "[delay.K,bandpass.B]"})
    gainfield: list[str] = Field([], description="per table: '' (all fields), 'nearest' or field names, as gaincal's", json_schema_extra={"blank": "'' for every table (all fields)", "example": "['',nearest]"})
    interp: list[str] = Field([], description="per table: 'linear' or 'nearest' in time", json_schema_extra={"blank": "'linear' for every table", "example": "[linear,nearest]"})
    spwmap: list[list[int]] = Field([], description="per table: data spw i uses table spw spwmap[i]", json_schema_extra={"blank": "each spw its own", "example": "[[],[0,0,0,0]]"})
    calwt: list[bool] = Field([], description="per table: scale weights by the gains (CASA's default True; never for delays)", json_schema_extra={"blank": "true for every table but delays (as CASA)", "example": "[false,true]"})


class PrecalTable(BaseModel):
    """A pre-applied table as checked: its path, type, fields, spws and how it is applied."""
    table: str
    type: str
    fields: list[str]
    spws: list[int]
    gainfield: str
    interp: str
    spwmap: list[int]
    calwt: bool


class PrecalSummary(Summary):
    tables: list[PrecalTable]


def table_path(t: str, md) -> str:
    """A precal table as given (absolute, or found from the current folder), else beside the MS."""
    return os.path.abspath(t if os.path.isabs(t) or os.path.exists(t) else os.path.join(os.path.dirname(md.path), t))


def check_table(spec: ApplySpec, md, path: str) -> PrecalTable:
    """One line per problem: another MS's table, an impossible spwmap. Returns a summary."""
    ct = spec.table
    ants = [a.name for a in md.antennas]
    if ct.antenna_names and ct.antenna_names != ants:
        raise CalTableError(f"{path} belongs to another MS ({ct.ms_name or 'unknown'}): its antennas "
                            f"{', '.join(ct.antenna_names[:4])}, ... differ from {md.name}'s "
                            f"{', '.join(ants[:4])}, ...; give this MS's table")
    if len(spec.spwmap) > len(md.spws):
        raise CalTableError(f"spwmap for {path} has {len(spec.spwmap)} entries but {md.name} has "
                            f"{len(md.spws)} spws; give at most {len(md.spws)}")
    have = sorted(set(np.unique(ct.spw_id).tolist()))
    bad = [m for m in spec.spwmap if m not in have]
    if bad:
        raise CalTableError(f"spwmap for {path} points at spw {bad[0]}, which the table lacks "
                            f"(it has spws {', '.join(map(str, have))})")
    for s in md.spws:
        t = spec.spwmap[s.id] if s.id < len(spec.spwmap) else s.id
        if t in have and t in ct.spw_freq:
            f = ct.spw_freq[t]
            lo, hi = md.spws[t].chan_freq.min(), md.spws[t].chan_freq.max() if t < len(md.spws) else (0, 0)
            if t >= len(md.spws) or not (lo - 1e6 <= f.mean() <= hi + 1e6):
                raise CalTableError(f"{path} spw {t} ({f.mean() / 1e9:.4f} GHz) is not {md.name}'s spw {t}; "
                                    f"give this MS's table or a spwmap")
            if ct.gaintype in ("B", "TSYS") and len(f) not in (1, s.nchan) and not spec.spwmap:
                raise CalTableError(f"{path} spw {t} has {len(f)} channels, {md.name}'s has {s.nchan}; "
                                    f"give a table solved on this MS's channels")
    return PrecalTable(table=path, type=ct.viscal, fields=sorted({ct.field_names[f] if ct.field_names else str(f)
                                                                 for f in np.unique(ct.field_id).tolist()}),
                       spws=have, gainfield=spec.gainfield, interp=spec.interp, spwmap=spec.spwmap,
                       calwt=spec.calwt)


class Precal(Stage):
    name = "precal"
    Inputs = PrecalInputs
    Summary = PrecalSummary
    description = "The user's calibration tables (K, B, Tsys, G, T) pre-applied in every solve"

    def consumes(self, s, inputs):
        md = s.md
        from ..ms.metadata import content_fingerprint
        out = []
        for t in inputs.gaintable:
            p = table_path(t, md)
            out.append([p, content_fingerprint(p, ()) if os.path.exists(os.path.join(p, "table.dat")) else None])
        return {"tables": out}

    def run(self, s, inputs, user):
        ms, md, st = s.name, s.md, s.state
        entries, rows, paths = [], [], []
        for t in inputs.gaintable:
            path = table_path(t, md)
            if not os.path.exists(path):
                raise CalTableError(f"precal table '{t}' not found (looked in the current folder and "
                                    f"beside {md.name}); give an existing path")
            paths.append(path)
        specs = load_specs(paths, inputs.gainfield, inputs.interp, inputs.spwmap, inputs.calwt)
        for path, spec in zip(paths, specs):
            rows.append(check_table(spec, md, path))
            entries.append(CalEntry(role="precal", table=path, stage=self.name, gainfield=spec.gainfield,
                                    interp=spec.interp, spwmap=spec.spwmap, calwt=spec.calwt))
        msg = (f"{len(entries)} tables pre-applied: " + ", ".join(f"{os.path.basename(r.table)} ({r.type})"
                                                              for r in rows)) if entries else "no tables to pre-apply"
        qa = [tables_applied(ms, msg, len(entries))]
        lib = [e for e in st.callibrary if e.role != "precal"] + entries
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, {}),
                       summary=PrecalSummary(tables=rows), updates={"callibrary": lib})
