"""The `fluxpipe` command.

Exit codes: 0 success; 1 a user error (PipelineError: the message says what to change);
2 bad command-line usage; 3 an internal error (a bug: please report it with the traceback,
shown with -v).
"""
from __future__ import annotations

import argparse
import glob
import logging
import os
import shutil
import sys

from .errors import DiskFullError, PipelineError, disk_full_message, is_disk_full

log = logging.getLogger("fluxpipe")



def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (argparse prints the one-line error, exit 2)."""
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return v

def _cmd_simulate(args) -> int:
    from .sim import simulate
    faults = {}
    if args.flag_antenna is not None:
        faults["flagged_antenna"] = args.flag_antenna
    truth = simulate(args.out, args.preset, args.seed, faults=faults or None,
                     duration_scale=args.duration_scale, weight_spectrum=args.weight_spectrum)
    print(f"wrote {args.out} ({truth['preset']}, seed {truth['seed']}); truth in "
          f"{args.out.rstrip('/')}.truth.json")
    return 0


def _cmd_fluxscale(args) -> int:
    import json

    from .casa_fluxscale import fluxscale
    try:
        refspwmap = [int(x) for x in args.refspwmap.split(",")] if args.refspwmap else [-1]
    except ValueError:
        from .errors import InputsError
        raise InputsError(f"--refspwmap '{args.refspwmap}' must be comma-separated spw ids, e.g. 0,0,2,2") from None
    d = fluxscale(args.vis, args.caltable, args.fluxtable, reference=args.reference,
                  transfer=args.transfer, listfile=args.listfile, refspwmap=refspwmap,
                  gainthreshold=args.gainthreshold, antenna=args.antenna, timerange=args.timerange,
                  scan=args.scan, incremental=args.incremental, fitorder=args.fitorder)
    from .casa_fluxscale import listfile_lines
    print("\n".join(listfile_lines(d, args.fitorder)))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(d, fh, indent=1)
    return 0


def _cmd_run(args) -> int:
    from .recipe import run_recipe
    ctx = run_recipe(args.recipe, args.ms, args.out, args.set, args.resume, args.parallel,
                     weblog=not args.no_weblog, scheduler=args.scheduler)
    _print_fluxes(ctx)
    tables = glob.glob(os.path.join(ctx.outdir, "*.tbl"))
    print(f"in {ctx.outdir}: context.json, fluxes.json" + (", weblog/index.html" if not args.no_weblog else "")
          + (f", {len(tables)} caltables (*.tbl)" if tables else "")
          + (", crosseb.json" if os.path.exists(os.path.join(ctx.outdir, "crosseb.json")) else ""))
    written = [k for k, st in ctx.ms.items() if st.model_data and not st.model_data.startswith("writing")]
    if written:
        print(f"MODEL_DATA written in {', '.join(written)}")
    return 0


def _print_fluxes(ctx) -> None:
    for ms, st in ctx.ms.items():
        for f, r in st.fluxes.items():
            for s, v in r.spws.items():
                if v.flux_jy:
                    print(f"{ms} {f} spw {s}: {v.flux_jy:.5g} +/- {v.error_jy:.2g} Jy "     # mJy fluxes too
                          f"(SNR {v.snr or 0:.0f}, N {v.n})")


def _cmd_inputs(args) -> int:
    from .stage import describe
    from .stages import get_stage
    st = get_stage(args.stage)
    print(f"{st.name}: {st.description}")
    for d in describe(st):
        print(f"  {d['name']}: {d['type']}, default {d['default']}")
        print(f"      {d['description']}")
        if d["blank"]:
            print(f"      blank: {d['blank']}")
        print(f"      example: {d['example']}")
    return 0


def _cmd_weblog(args) -> int:
    from .context import Context
    from .weblog import render
    path = render(Context.load(args.outdir))
    print(f"weblog: {path}")
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo
    return run_demo(args.out)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="fluxpipe", description=__doc__.splitlines()[0])
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logging, tracebacks")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = ap.add_subparsers(dest="command", required=True)

    s = sub.add_parser("simulate", help="write a simulated MS with a known truth")
    s.add_argument("out", help="output MS path (OUT.truth.json and flux.csv are written beside it)")
    from .sim import PRESETS
    s.add_argument("--preset", default="alma_band3", choices=sorted(PRESETS))
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--duration-scale", type=float, default=1.0,
                   help="repeat the preset's schedule this many times")
    s.add_argument("--weight-spectrum", action="store_true", default=None,
                   help="also write WEIGHT_SPECTRUM")
    s.add_argument("--flag-antenna", type=int, default=None, help="fault: flag this antenna")
    s.set_defaults(func=_cmd_simulate)

    r = sub.add_parser("run", help="run a recipe over MeasurementSets")
    r.add_argument("recipe", help="recipe YAML path or built-in name (gfluxscale)")
    r.add_argument("ms", nargs="+", help="MeasurementSets")
    r.add_argument("--set", action="append", default=[], metavar="STAGE.PARAM=VALUE",
                   help="override a stage parameter (repeatable)")
    r.add_argument("--out", default="fluxpipe_out", help="output directory")
    r.add_argument("--resume", action="store_true", help="continue after the last completed stage")
    r.add_argument("--parallel", type=_positive_int, default=1, help="MSes processed at once (local processes)")
    r.add_argument("--scheduler", default="", metavar="tcp://HOST:PORT",
                   help="run one task per MS on this dask.distributed scheduler (workers need the MS "
                        "paths and the output folder on a shared filesystem)")
    r.add_argument("--no-weblog", action="store_true")
    r.set_defaults(func=_cmd_run)

    i = sub.add_parser("inputs", help="list a stage's parameters")
    i.add_argument("stage")
    i.set_defaults(func=_cmd_inputs)

    w = sub.add_parser("weblog", help="re-render the weblog of an output directory")
    w.add_argument("outdir")
    w.set_defaults(func=_cmd_weblog)

    f = sub.add_parser("fluxscale", help="CASA's fluxscale on a G/T caltable")
    f.add_argument("vis")
    f.add_argument("caltable")
    f.add_argument("fluxtable", nargs="?", default="", help="output table (optional)")
    f.add_argument("--reference", required=True)
    f.add_argument("--transfer", default="")
    f.add_argument("--listfile", default="")
    f.add_argument("--refspwmap", default="", help="e.g. 0,0,2,2")
    f.add_argument("--gainthreshold", type=float, default=-1.0)
    f.add_argument("--antenna", default="")
    f.add_argument("--timerange", default="")
    f.add_argument("--scan", default="")
    f.add_argument("--incremental", action="store_true")
    f.add_argument("--fitorder", type=int, default=1)
    f.add_argument("--json", default="", help="write CASA's returned dict here")
    f.set_defaults(func=_cmd_fluxscale)

    d = sub.add_parser("demo", help="simulate the band-3 preset and run gfluxscale on it")
    d.add_argument("--out", default="fluxpipe_demo", help="output directory")
    d.set_defaults(func=_cmd_demo)
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        try:
            return args.func(args)
        except (OSError, RuntimeError, shutil.Error) as exc:
            out = getattr(args, "out", None)
            if not isinstance(exc, PipelineError) and out and is_disk_full(exc, [out]):
                raise DiskFullError(disk_full_message(out, "the run's outputs")) from None
            raise
    except PipelineError as exc:
        print(f"fluxpipe: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fluxpipe: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the machine's state (disk full, permissions), not a bug
        if args.verbose:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"fluxpipe: error: {exc.strerror or exc}{where}; free disk space or fix the permissions "
              f"and rerun with --resume", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug
        if args.verbose:
            raise
        print(f"fluxpipe: internal error: {type(exc).__name__}: {exc} (run with -v for the "
              f"traceback)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
