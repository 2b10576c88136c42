"""The Context: what the MSes hold, the calibration state, the results. JSON after every stage."""
from __future__ import annotations

import json
import os
from typing import Any

from pydantic import BaseModel, Field


class CalEntry(BaseModel):
    table: str
    stage: str
    gainfield: str = ""
    interp: str = "linear"
    spwmap: list[int] = Field(default_factory=list)


class MSState(BaseModel):
    path: str
    name: str
    summary: dict = Field(default_factory=dict)
    refants: list[int] = Field(default_factory=list)
    reference: str = ""
    transfer: list[str] = Field(default_factory=list)
    reference_model: dict = Field(default_factory=dict)
    resolved: dict = Field(default_factory=dict)
    callibrary: list[CalEntry] = Field(default_factory=list)
    flags: list[dict] = Field(default_factory=list)
    fluxes: dict = Field(default_factory=dict)
    catalogue: dict = Field(default_factory=dict)   # "field|spw" -> Jy


class StageRecord(BaseModel):
    index: int
    stage: str
    ms: str
    ok: bool
    inputs: dict = Field(default_factory=dict)      # name -> {"value", "source"}
    summary: dict = Field(default_factory=dict)
    qa: list[dict] = Field(default_factory=list)
    error: str = ""
    seconds: float = 0.0


class Context(BaseModel):
    outdir: str
    recipe: str = ""
    command: str = ""
    version: str = ""
    started: float = 0.0
    finished: float = 0.0
    ms: dict[str, MSState] = Field(default_factory=dict)
    results: list[StageRecord] = Field(default_factory=list)
    part: str = ""   # set in a parallel worker: it saves context.<part>.json

    @property
    def path(self) -> str:
        return os.path.join(self.outdir, f"context.{self.part}.json" if self.part else "context.json")

    def save(self) -> None:
        os.makedirs(self.outdir, exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(self.model_dump_json(indent=1))
        os.replace(tmp, self.path)

    @classmethod
    def load(cls, outdir: str) -> "Context":
        with open(os.path.join(outdir, "context.json")) as fh:
            return cls.model_validate(json.load(fh))

    def completed(self, ms: str) -> list[str]:
        return [r.stage for r in self.results if r.ms == ms and r.ok]

    def fluxes_json(self) -> dict[str, Any]:
        """OUTDIR/fluxes.json: per MS and field the role, per-spw values, fit and derived fluxes."""
        out = {}
        for name, st in self.ms.items():
            fields = {}
            if st.reference:
                fields[st.reference] = {"role": "reference", "model": st.reference_model}
            for f, r in st.fluxes.items():
                fields[f] = {"role": "transfer", "spws": r.get("spws", {}), "fit": r.get("fit", {}),
                             "derived": r.get("derived", {})}
            out[name] = fields
        return out
