"""Make pipeline/models/standards_tables.json from the CASA data package's coefficient tables
(casadata: nrao/VLA/standards/PerleyButler2017Coeffs, PerleyButler2013Coeffs,
ScaifeHeald2012Coeffs): per standard its epochs and, per source, the coefficients of
log10 S = sum_i c_i (log10 nu_GHz)^i at each epoch (Scaife-Heald: S = c0 10^(sum_i>0 c_i x^i),
x = log10(nu / 150 MHz)). Run once with python-casacore and casadata installed:

    python benchmarks/casa_oracle/extract_standards.py /path/to/casadata/__data__
"""
import json
import os
import sys

import numpy as np
from casacore.tables import table

TABLES = {"Perley-Butler 2017": "PerleyButler2017Coeffs", "Perley-Butler 2013": "PerleyButler2013Coeffs",
          "Scaife-Heald 2012": "ScaifeHeald2012Coeffs"}


def main(data):
    out = {"provenance": "CASA data package (casadata) nrao/VLA/standards, read by "
                         "benchmarks/casa_oracle/extract_standards.py", "standards": {}}
    for name, tab in TABLES.items():
        t = table(os.path.join(data, "nrao", "VLA", "standards", tab), ack=False)
        srcs = {}
        for c in t.colnames():
            if c.endswith("_coeffs"):
                rows = [[float(f"{x:.6g}") for x in np.atleast_1d(t.getcell(c, i))] for i in range(t.nrows())]
                srcs[c[:-len("_coeffs")]] = rows
        out["standards"][name] = {"epochs": [float(f"{e:.6g}") for e in t.getcol("Epoch")],
                                  "keywords": {k: str(v) for k, v in t.getkeywords().items()},
                                  "sources": srcs}
        t.close()
    dst = os.path.join(os.path.dirname(__file__), "..", "..", "pipeline", "models", "standards_tables.json")
    with open(dst, "w") as fh:
        json.dump(out, fh, indent=0, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1])
