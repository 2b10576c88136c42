"""Helpers shared by the stages."""
from __future__ import annotations

import os

from ..context import Context
from ..flux import CAL_INTENTS, SourceModel, model_function
from ..ms import read_metadata


def md_of(context: Context, ms: str):
    return read_metadata(context.ms[ms].path)


def table_path(context: Context, ms: str, stage: str) -> str:
    return os.path.join(context.outdir, f"{ms}.{stage}.tbl")


def calibrators(md) -> list[str]:
    return [f.name for f in md.fields if f.intents & set(CAL_INTENTS)]


def solver_model(context: Context, ms: str, md):
    st = context.ms[ms]
    models = {st.reference: SourceModel(**st.reference_model)} if st.reference_model else {}
    return model_function(md, models)


def ref_antennas(context: Context, ms: str) -> list[int]:
    return list(context.ms[ms].resolved.get("antennas", []))
