"""Which field is the flux reference, which are transfer calibrators, which are targets.

With scan intents (ALMA, modern VLA) the intents decide: AMPLITUDE is the reference; PHASE,
BANDPASS, CHECK, POLARIZATION and DIFFGAIN fields are transferred; TARGET-only fields are never
solved. Without intents (old VLA archives such as NGC5921) the names decide, as a CASA user
would: a flux-density standard (3C286 = 1331+305 = J1331+3030, 3C48, 3C138, 3C147, 3C295, 1934-638 ...) or a
solar-system body is the reference, else a field with a flux.csv model; other fields whose
names are calibrator coordinates (J2000 'J0423-0120', B1950 '0423-013', VLA '1445+09900002_0')
are transferred; the rest are targets. Every decision carries the rule that made it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .solarsystem import body_name
from .standards import standard_name

TRANSFER_INTENTS = ("PHASE", "BANDPASS", "CHECK", "POLARIZATION", "DIFFGAIN")
CALIBRATOR_NAME = re.compile(r"^(J\d{4}[+-]\d{2,4}|B?\d{4}[+-]\d{2,4}|3C\d+)", re.IGNORECASE)


@dataclass
class FieldRole:
    id: int
    name: str
    role: str          # 'reference', 'transfer', 'target' or 'other'
    rule: str          # why


def reference_rule(name: str, catalogued: set[str]) -> str | None:
    """Why `name` can be a flux reference without intents (None: it cannot)."""
    std = standard_name(name)
    if std:
        return f"name is the flux-density standard {std}"
    body = body_name(name)
    if body:
        return f"name is the solar-system body {body}"
    if name in catalogued:
        return "has a flux.csv model"
    return None


def catalogue_intents(comment: str) -> set[str]:
    """The intents an ALMA flux.csv comment names ('# field=J0423-0120 intents=AMPLITUDE,PHASE ...')."""
    m = re.search(r"intents=([A-Z_,]+)", comment or "")
    return set(m.group(1).split(",")) - {""} if m else set()


def assign_roles(names: list[str], intents: list[set[str]], catalogued: set[str] = frozenset(),
                 reference: list[str] | None = None, transfer: list[str] | None = None,
                 catalogue_intents: dict[str, set[str]] | None = None) -> list[FieldRole]:
    """Roles of all fields; `reference`/`transfer` given by the user win (rule 'user'). Without
    intents in the MS (no STATE table, STATE_ID -1, old VLA data) the reference goes by name:
    a standard, else a solar-system body, else the flux.csv rows whose comment says
    intents=AMPLITUDE (as the ALMA pipeline writes them), else every flux.csv row."""
    has_intents = any(intents)
    roles: dict[int, FieldRole] = {}
    ids = {n: i for i, n in enumerate(names)}
    if reference:
        for n in reference:
            roles[ids[n]] = FieldRole(ids[n], n, "reference", "user")
    elif has_intents and any("AMPLITUDE" in it for it in intents):
        for i, it in enumerate(intents):
            if "AMPLITUDE" in it:
                roles[i] = FieldRole(i, names[i], "reference", "intent AMPLITUDE")
    else:
        # by name: standards first, then solar-system bodies, then flux.csv; all of the best kind
        for kind in ("flux-density standard", "solar-system body", "flux.csv"):
            hits = [(i, reference_rule(n, catalogued)) for i, n in enumerate(names)]
            hits = [(i, r) for i, r in hits if r and kind in r]
            amp = [(i, r + " whose comment says intents=AMPLITUDE") for i, r in hits
                   if "AMPLITUDE" in (catalogue_intents or {}).get(names[i], set())]
            if kind == "flux.csv" and amp:
                hits = amp
            if hits:
                for i, r in hits:
                    roles[i] = FieldRole(i, names[i], "reference", r)
                break
    for i, n in enumerate(names):
        if i in roles:
            continue
        if transfer is not None:
            roles[i] = FieldRole(i, n, "transfer", "user") if n in transfer else \
                FieldRole(i, n, "other", "not in the user's transfer list")
        elif has_intents:
            it = sorted(intents[i] & set(TRANSFER_INTENTS))
            if it:
                roles[i] = FieldRole(i, n, "transfer", "intent " + ",".join(it))
            elif "TARGET" in intents[i]:
                roles[i] = FieldRole(i, n, "target", "intent TARGET: never solved")
            else:
                roles[i] = FieldRole(i, n, "other", "no calibration intent" + (
                    f" ({','.join(sorted(intents[i]))})" if intents[i] else ""))
        elif n in catalogued:
            roles[i] = FieldRole(i, n, "transfer", "no intents; has a flux.csv row")
        elif CALIBRATOR_NAME.match(n):
            roles[i] = FieldRole(i, n, "transfer", "no intents; name is calibrator coordinates")
        else:
            roles[i] = FieldRole(i, n, "target", "no intents; name is not a calibrator's: never solved")
    return [roles[i] for i in range(len(names))]
