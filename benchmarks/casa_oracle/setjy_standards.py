"""CASA oracle for the flux-density standards (not run by the tests; needs CASA 6.7 from PyPI in a
venv of its own, with ~/.casa/config.py: measurespath = casadata's __data__, auto-updates off).

Two steps, each in its own Python:

    .venv-test/bin/python benchmarks/casa_oracle/setjy_standards.py make OUT.ms
    /path/to/casa-venv/bin/python benchmarks/casa_oracle/setjy_standards.py setjy OUT.ms tests/data/casa_setjy_standards.json

`make` writes a small MS (fluxpipe.sim) with one field per name to try (the standards' sources
under the names CASA's setjy may accept) and 18 one-channel spws from 50 MHz to 45 GHz, observed
on 2024-06-01. `setjy` runs CASA's setjy (usescratch=False) for every standard and field and
stores what it returns per spw (flux at the spw's frequency), or the error for a name or
frequency the standard refuses. tests/test_standards.py compares fluxpipe's standards with it.
"""
import json
import sys

FREQS_GHZ = [0.05, 0.074, 0.1, 0.15, 0.23, 0.33, 0.5, 0.75, 1.0, 1.4, 2.0, 3.0, 5.0, 8.4, 15.0,
             22.0, 33.0, 45.0]
NAMES = ["3C286", "1331+305", "J1331+3030", "1328+307", "3C48", "0137+331", "J0137+3309", "3C138",
         "0521+166", "J0521+1638", "3C147", "0542+498", "J0542+4951", "3C295", "1409+524",
         "J1411+5212", "3C196", "0813+482", "J0813+4813", "3C123", "0433+295", "J0437+2940",
         "3C380", "1828+487", "J1829+4844", "1934-638", "J1939-6342", "J0133-3629", "J0444-2809",
         "FORNAX_A", "FornaxA", "PICTOR_A", "TAURUS_A", "HYDRA_A", "VIRGO_A", "HERCULES_A", "3C353",
         "CYGNUS_A", "3C444", "CASSIOPEIA_A", "3C274", "3C405", "3C461"]
STANDARDS = ["Perley-Butler 2017", "Perley-Butler 2013", "Perley-Butler 2010", "Perley-Taylor 99",
             "Perley-Taylor 95", "Perley 90", "Baars", "Scaife-Heald 2012", "Stevens-Reynolds 2016"]


HI_FREQS_GHZ = [10.5, 12.0, 14.0, 16.0, 18.0, 20.0, 24.0, 28.0, 32.0, 36.0, 40.0, 44.0, 48.0]


def make(out, freqs=FREQS_GHZ, names=NAMES):
    from fluxpipe.sim import presets, simulate

    def oracle():
        p = presets.get_preset("small")
        p.name, p.nant, p.nchan, p.spw_bw_mhz, p.tint = "setjy_oracle", 4, 1, 1.0, 6.0
        p.spw_centres_ghz = list(freqs)
        p.sources = [presets.SourceSpec(n, "AMPLITUDE" if i == 0 else "PHASE", 1.0 + 0.5 * i, 10.0, 1.0, 0.0)
                     for i, n in enumerate(names)]
        p.schedule = [(n, 12.0) for n in names]
        return p
    presets.PRESETS["setjy_oracle"] = oracle
    simulate(out, "setjy_oracle", seed=1, write_flux_csv_file=False)


def run_setjy(ms, out, names=NAMES, standards=STANDARDS):
    import casatasks
    from casatools import table
    tb = table()
    tb.open(ms + "/SPECTRAL_WINDOW")
    freqs = [float(f[0]) for f in tb.getcol("CHAN_FREQ").T]
    tb.close()
    tb.open(ms)
    t = tb.getcol("TIME")
    tb.close()
    res = {"casa": casatasks.version_string(), "freq_hz": freqs, "time_mjd_s": float(t.mean()), "fluxes": {}}
    for std in standards:
        for name in names:
            try:
                d = casatasks.setjy(vis=ms, field=name, standard=std, usescratch=False, scalebychan=False)
            except Exception as exc:       # noqa: BLE001 (record whatever CASA says)
                res["fluxes"].setdefault(std, {})[name] = {"error": str(exc)[:200]}
                continue
            per = {}
            for fid, v in (d or {}).items():
                if isinstance(v, dict):
                    for spw, x in v.items():
                        if isinstance(x, dict) and "fluxd" in x:
                            per[spw] = float(x["fluxd"][0])
            res["fluxes"].setdefault(std, {})[name] = per
    with open(out, "w") as fh:
        json.dump(res, fh, indent=0)


if __name__ == "__main__":
    # 'make-hi' / 'setjy-hi': 1934-638 from 10.5 to 48 GHz (Stevens-Reynolds 2016's upper branch)
    {"make": lambda: make(sys.argv[2]), "setjy": lambda: run_setjy(sys.argv[2], sys.argv[3]),
     "make-hi": lambda: make(sys.argv[2], HI_FREQS_GHZ, ["1934-638", "3C286"]),
     "setjy-hi": lambda: run_setjy(sys.argv[2], sys.argv[3], ["1934-638"], STANDARDS)}[sys.argv[1]]()
