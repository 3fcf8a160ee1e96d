"""The type stubs (fastact/__init__.pyi) match the implementation, and the
typed example runs."""
import ast
import inspect
import os

import fastact
from typing_example import example

STUB = os.path.join(os.path.dirname(fastact.__file__), "__init__.pyi")


def _stub_signatures():
    """name -> list of (parameter name, kind) of each function in the stub
    (the last overload wins; overloads share parameter names)."""
    tree = ast.parse(open(STUB).read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            a = node.args
            params = [(p.arg, "positional") for p in a.posonlyargs + a.args]
            params += [(p.arg, "keyword") for p in a.kwonlyargs]
            out[node.name] = params
    return out


def test_stub_matches_the_implementation():
    stub = _stub_signatures()
    public = [n for n in fastact.__all__ if n != "__version__"]
    assert sorted(stub) == sorted(public)
    for name in public:
        sig = inspect.signature(getattr(fastact, name))
        params = [(p.name, "keyword" if p.kind is p.KEYWORD_ONLY else "positional")
                  for p in sig.parameters.values()]
        assert params == stub[name], name


def test_py_typed_is_shipped():
    assert os.path.exists(os.path.join(os.path.dirname(fastact.__file__), "py.typed"))


def test_typed_example_runs():
    example()
