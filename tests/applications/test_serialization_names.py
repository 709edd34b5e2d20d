"""Every custom Keras object of every domain keeps a registered name of its own.

Keras' registry maps "package>ClassName" to one object and silently replaces an earlier one, so
two domains registering the same name would load each other's layers once both are imported.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import keras

import applications


def test_no_two_domains_register_the_same_keras_name():
    modules = []
    for info in pkgutil.walk_packages(applications.__path__, prefix="applications."):
        if info.name.endswith("__main__"):
            continue
        try:
            modules.append(importlib.import_module(info.name))
        except ImportError:  # a domain whose extra is not installed
            continue
    checked, clashes = 0, []
    for module in modules:
        for _, obj in inspect.getmembers(module, lambda o: inspect.isclass(o) or inspect.isfunction(o)):
            if obj.__module__ != module.__name__:
                continue
            name = keras.saving.get_registered_name(obj)
            if not name.startswith("keras_applied"):
                continue
            checked += 1
            if keras.saving.get_registered_object(name) is not obj:
                clashes.append(f"{name} ({module.__name__}) is registered by another module too")
    assert checked > 10, "the scan found too few registered objects to mean anything"
    assert not clashes, "\n".join(clashes)
