"""The CEL engine (the common-expression-language package's native module), loaded without its command line.

`import cel` runs the package's __init__, which imports its interactive shell (prompt_toolkit, rich): about 0.4 s
here, more than the whole of an offline check should take. The native module `cel.cel` holds everything validation
uses (compile, Program.execute), so it is loaded from its file directly; when that is not possible (another layout
of the package) the ordinary import is used.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from functools import lru_cache
from pathlib import Path
from types import ModuleType


@lru_cache(maxsize=1)
def engine() -> ModuleType:
    spec = importlib.util.find_spec("cel")  # finds the package without running its __init__
    folders = list(spec.submodule_search_locations or []) if spec else []
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    native = next((p for f in folders for p in sorted(Path(f).glob("cel.*")) if p.name.endswith(suffixes)), None)
    if native is not None:
        loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(native))
        found = importlib.util.spec_from_loader("cel.cel", loader)
        assert found is not None  # a spec is always made for a given loader
        module = importlib.util.module_from_spec(found)
        try:
            loader.exec_module(module)
        except ImportError:
            pass
        else:
            if hasattr(module, "compile"):
                return module
    import cel

    return cel
