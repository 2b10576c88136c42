"""gaincal without CASA: one pass over the selection into a cube, then solve, then a caltable.

Solution intervals: 'int' (each integration), 'Ns' / 'Nmin' / 'Nh' / a bare number of
seconds (bins of that length from the start of each scan), 'inf' (one per scan). combine='scan'
joins the scans of a field. The pass (fluxpipe.ms.onepass) pre-applies the tables and divides
by the model per channel; the solve (fluxpipe.calsolve) works on the channel-averaged cube,
which for gain tables is exactly gaincal's arithmetic on the channels.
The model is MODEL_DATA when `model` is 'column', a callable model(field, spw, chan_freq, uvw)
-> (row, chan) or scalar (evaluated per chunk), or a 1 Jy point source (model=None), as CASA
assumes when MODEL_DATA is absent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .calapply import Applier, ApplySpec
from .calsolve import SolveSpec, solve_cube
from .caltable import CalTable, write_caltable
from .errors import InputsError, NoDataError, SelectionError
from .heuristics.refant import rank_refants
from .ms import read_metadata, select
from .ms.metadata import MSMetadata
from .ms.onepass import build_cube
from .ms.select import antenna_ids


def parse_solint(solint: str | float) -> float | str:
    """'int' / 'inf' -> themselves; '30s', '2min', '1.5h', 30 -> seconds."""
    s = str(solint).strip().lower()
    if s in ("int", "inf"):
        return s
    m = re.fullmatch(r"([\d.]+(?:e[+-]?\d+)?)\s*(s|sec|min|m|h)?", s)
    if not m:
        raise InputsError(f"solint '{solint}' cannot be parsed; use 'int', 'inf', or a time such "
                          f"as '30s', '2min', '0.5h'")
    val = float(m.group(1)) * {"s": 1, "sec": 1, None: 1, "min": 60, "m": 60, "h": 3600}[m.group(2)]
    if val <= 0:
        raise InputsError(f"solint '{solint}' must be positive")
    return val


def parse_refant(refant: str, md: MSMetadata) -> list[int]:
    if not refant:
        return []
    try:
        return [i for tok in str(refant).split(",") if tok.strip() for i in antenna_ids(tok, md)]
    except SelectionError as exc:
        raise InputsError(f"refant: {exc}") from None


def casa_refant_choices(md: MSMetadata, user: list[int]) -> list[int]:
    """CASA's refant choices: the user's list, then every other antenna by its distance from
    the last of them (SolvableVisJones::applyRefAnt)."""
    pos = md.antenna_positions()
    d = np.linalg.norm(pos - pos[user[-1]], axis=1)
    return list(user) + [int(a) for a in np.argsort(d, kind="stable") if a not in user]


def ranked_refants(md: MSMetadata, unflagged: np.ndarray, user: str = "") -> list[int]:
    """User's list first (it always wins), then the pipeline's ranking of the rest, from the
    per-antenna unflagged fraction of the calibrator data (Cube.unflagged_fraction)."""
    mine = parse_refant(user, md)
    ranking = rank_refants(md.antenna_positions(), unflagged)
    return mine + [int(a) for a in ranking if a not in mine]


@dataclass
class GaincalResult:
    table: CalTable
    refants: list[int]
    nsolutions: int
    nflagged: int
    spw_chan_freq: dict


def load_specs(gaintable, gainfield=None, interp=None, spwmap=None, calwt=None,
               flagged: str = "interpolate") -> list[ApplySpec]:
    """gaincal's parallel lists -> ApplySpecs. Missing entries take CASA's defaults ('', 'linear',
    no map); a shorter calwt list repeats its last value, as CASA's callibrary does."""
    pick = lambda lst, k, d: lst[k] if lst and k < len(lst) and lst[k] is not None else d  # noqa: E731
    wt = lambda k: calwt[min(k, len(calwt) - 1)] if calwt else True  # noqa: E731
    return [ApplySpec.load(t, pick(gainfield, k, ""), pick(interp, k, "linear"), pick(spwmap, k, []),
                           calwt=wt(k), flagged=flagged) for k, t in enumerate(gaintable or [])]


def gaincal(vis: "str | MSMetadata", caltable: str | None = None, field: str = "", spw: str = "",
            intent: str = "", selectdata: dict | None = None, solint: str = "inf",
            combine: str = "", gaintype: str = "G", calmode: str = "ap", refant: str = "",
            minblperant: int = 4, minsnr: float = 3.0, gaintable: list[str] | None = None,
            gainfield: list[str] | None = None, interp: list[str] | None = None,
            spwmap: list[list[int]] | None = None, model=None, column: str = "DATA",
            refant_order: list[int] | None = None, max_bytes: int = 64 * 2**20,
            refantmode: str = "flex", solver: str = "converged",
            flagged_solutions: str = "interpolate") -> GaincalResult:
    """Solve antenna gains as CASA's gaincal does (see module doc); write `caltable` if given.
    solver: 'converged' (each interval's least-squares solution) or 'casa' (CASA's iterations
    and stopping rule, heuristics.casasolve: its SNRs and minsnr flags at low SNR).
    flagged_solutions: the pre-applied tables' flagged solutions are 'interpolate'd over or
    'flag' the data as in CASA (fluxpipe.calapply.interpolate)."""
    md = vis if isinstance(vis, MSMetadata) else read_metadata(vis)
    if gaintype not in ("G", "T"):
        raise InputsError(f"gaintype '{gaintype}' is not supported; use 'G' or 'T'")
    if calmode not in ("p", "a", "ap"):
        raise InputsError(f"calmode '{calmode}' is not valid; use 'p', 'a' or 'ap'")
    if solver not in ("converged", "casa"):
        raise InputsError(f"solver '{solver}' is not valid; use 'converged' or 'casa'")
    if flagged_solutions not in ("interpolate", "flag"):
        raise InputsError(f"flagged_solutions '{flagged_solutions}' is not valid; use 'interpolate' or 'flag'")
    si = parse_solint(solint)
    sel = select(md, field=field, spw=spw, intent=intent, **(selectdata or {}))
    specs = load_specs(gaintable, gainfield, interp, spwmap, flagged=flagged_solutions)
    applier = Applier.for_ms(specs, md)
    cube = build_cube(md, sel, model=model, apply=applier.apply if specs else None, column=column,
                      max_bytes=max_bytes)
    try:
        if cube.index.rows_read == 0:
            raise NoDataError(f"no data selected in {md.name} for field='{field}' spw='{spw}'"
                              f"{' intent=' + intent if intent else ''}; check the selection")
        refs = list(refant_order) if refant_order else (casa_refant_choices(md, parse_refant(refant, md)) if refant
                                                        else ranked_refants(md, cube.unflagged_fraction(), refant))
        spec = SolveSpec(si, "scan" in str(combine), gaintype, calmode, minblperant, minsnr,
                         combine_spw="spw" in str(combine), refantmode=refantmode, solver=solver)
        ct = solve_cube(cube, md, spec, refs)
    finally:
        cube.close()
    if not (~ct.flag).any():
        raise NoDataError(f"no unflagged solutions in {md.name} for field='{field}' spw='{spw}': "
                          f"all data flagged or below minsnr={minsnr}; check flags or lower minsnr")
    spw_cf = dict(cube.index.spw_chan)
    if caltable:
        write_caltable(caltable, ct, md.path, spw_cf)
    return GaincalResult(ct, refs, int(ct.flag.shape[0]), int(ct.flag.all(axis=(1, 2)).sum()), spw_cf)
