"""`fluxpipe ...` in a subprocess, as a user runs it (shared by the CLI tests)."""
import subprocess
import sys


def cli(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fluxpipe.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env)
