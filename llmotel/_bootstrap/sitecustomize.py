"""Loaded by ``llmotel run`` through PYTHONPATH: enables llmotel from the environment, then chains on.

Any other ``sitecustomize`` further down the path still runs; a configuration error is printed and the
program runs untraced (the program itself must behave exactly as without llmotel). An interpreter that cannot
import llmotel (another Python the program starts) is left alone, silently. The program's own ``enable()``
later replaces this one.
"""

import importlib.util
import os
import sys


def _chain_other_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    saved = sys.path[:]
    try:
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
        spec = importlib.util.find_spec("sitecustomize")
    finally:
        sys.path[:] = saved
    if spec is not None and spec.loader is not None and spec.origin != __file__:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


def _enable() -> None:
    try:
        from llmotel._setup import enable_from_environment
    except ImportError:  # another Python the program starts (a system python3 without llmotel): say nothing
        return
    try:
        enable_from_environment()
    except Exception as exc:  # never stop the user's program
        print(f"llmotel: not enabled: {exc}", file=sys.stderr)


_chain_other_sitecustomize()
if os.environ.get("LLMOTEL_BOOTSTRAPPED") != str(os.getpid()):
    os.environ["LLMOTEL_BOOTSTRAPPED"] = str(os.getpid())
    _enable()
