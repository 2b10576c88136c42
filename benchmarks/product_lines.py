"""Lines of product code (pipeline/ and heuristics/ *.py) at git revisions: all lines, code lines
(tokens other than comments, outside docstrings) and docstring lines.

    python benchmarks/product_lines.py 8e2c53e 0322f75 HEAD
"""
from __future__ import annotations

import argparse
import ast
import io
import subprocess
import tokenize


def counts(src: str) -> tuple[int, int, int]:
    """(code lines, docstring lines, all lines) of one file's text."""
    doc: set[int] = set()
    for n in ast.walk(ast.parse(src)):
        if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body:
            d = n.body[0]
            if isinstance(d, ast.Expr) and isinstance(d.value, ast.Constant) and isinstance(d.value.value, str):
                doc.update(range(d.lineno, d.end_lineno + 1))
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    code = {ln for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type not in skip
            for ln in range(t.start[0], t.end[0] + 1) if ln not in doc}
    return len(code), len(doc), len(src.splitlines())


def at(rev: str) -> tuple[int, int, int]:
    git = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True, check=True).stdout  # noqa: E731
    files = [f for f in git("ls-tree", "-r", "--name-only", rev, "pipeline", "heuristics").split() if f.endswith(".py")]
    return tuple(map(sum, zip(*(counts(git("show", f"{rev}:{f}")) for f in files))))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("revs", nargs="+")
    for rev in ap.parse_args().revs:
        code, doc, total = at(rev)
        print(f"{rev}: {total} lines, {code} code, {doc} docstring")
