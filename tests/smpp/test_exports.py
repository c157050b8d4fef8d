from __future__ import annotations

import importlib
import pkgutil

import smsrelay.smpp as smpp


def test_public_names_resolve_and_are_unique() -> None:
    for name in smpp.__all__:
        assert hasattr(smpp, name), name
    assert len(set(smpp.__all__)) == len(smpp.__all__)


def test_every_module_exports_what_it_lists() -> None:
    for info in pkgutil.iter_modules(smpp.__path__):
        module = importlib.import_module(f"smsrelay.smpp.{info.name}")
        for name in getattr(module, "__all__", ()):
            assert hasattr(module, name), f"{info.name}.{name}"


def test_smpp_imports_nothing_else_of_ours() -> None:
    for info in pkgutil.iter_modules(smpp.__path__):
        with open(f"{smpp.__path__[0]}/{info.name}.py", encoding="utf-8") as handle:
            source = handle.read()
        assert "smsrelay." not in source.replace("smsrelay.smpp", ""), info.name
