"""fluxpipe installs beside the ALMA pipeline: its import names (`fluxpipe`, `fluxpipe.heuristics`)
collide with nothing, in particular not with the ALMA pipeline's own package `pipeline`.

A new virtual environment already holding a package named `pipeline` gets fluxpipe's wheel
(built from this tree); both must then import, each from its own files. The dependencies come
from the test environment (a .pth line), so nothing is downloaded."""
import glob
import os
import shutil
import site
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_fluxpipe_beside_a_package_named_pipeline(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    sp = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        check=True, capture_output=True, text=True).stdout.strip()
    # the other package called 'pipeline', already installed
    os.makedirs(os.path.join(sp, "pipeline"))
    with open(os.path.join(sp, "pipeline", "__init__.py"), "w") as fh:
        fh.write("WHO = 'the ALMA pipeline'\n")
    # numpy, casacore, pydantic ... from the test environment, after the venv's own packages
    with open(os.path.join(sp, "zz_test_deps.pth"), "w") as fh:
        fh.write("\n".join(site.getsitepackages()) + "\n")
    wheels = tmp_path / "wheels"
    src = tmp_path / "src"      # a clean copy: no build/ folder left by an earlier install
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv*", "build", "*.egg-info",
                                                             "__pycache__", "benchmarks"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(src)],
                   check=True, capture_output=True)
    whl, = glob.glob(str(wheels / "fluxpipe-*.whl"))
    tops = {n.split("/")[0] for n in zipfile.ZipFile(whl).namelist() if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"fluxpipe"}, tops
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", whl], check=True,
                   capture_output=True)
    code = ("import pipeline, fluxpipe, fluxpipe.recipe, fluxpipe.heuristics.jointflux as j; "
            "print(pipeline.WHO); print(fluxpipe.__file__); print(j.__file__); "
            "from fluxpipe.stages import STAGES; print(len(STAGES))")
    out = subprocess.run([py, "-c", code], check=True, capture_output=True, text=True, cwd=str(tmp_path)).stdout.split("\n")
    assert out[0] == "the ALMA pipeline"
    assert out[1].startswith(sp) and out[1].endswith(os.path.join("fluxpipe", "__init__.py"))
    assert out[2].startswith(sp) and out[2].endswith(os.path.join("fluxpipe", "heuristics", "jointflux.py"))
    assert int(out[3]) >= 8
    # the command works too, and the numerics import nothing of the framework or casacore
    r = subprocess.run([str(venv / "bin" / "fluxpipe"), "inputs", "phaseup"], capture_output=True, text=True,
                       cwd=str(tmp_path))
    assert r.returncode == 0 and "minsnr" in r.stdout, r.stderr
    mods = subprocess.run([py, "-c", "import sys, fluxpipe.heuristics.jointflux, fluxpipe.heuristics.fluxscale; "
                           "print(sorted(m for m in sys.modules if m.startswith(('fluxpipe', 'casacore', 'pipeline'))))"],
                          check=True, capture_output=True, text=True, cwd=str(tmp_path)).stdout
    assert "casacore" not in mods and "'pipeline'" not in mods and "fluxpipe.recipe" not in mods, mods
