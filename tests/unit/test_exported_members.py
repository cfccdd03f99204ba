"""The public surface of the package is explicit and sorted."""

from __future__ import annotations

import gsomia


def test_all_is_sorted_and_every_name_in_it_exists():
    """__all__ is sorted, and each name it lists is importable from gsomia."""
    assert gsomia.__all__ == sorted(gsomia.__all__)
    for name in gsomia.__all__:
        assert hasattr(gsomia, name), name


def test_every_public_attribute_is_listed_in_all():
    """Nothing public leaks from gsomia without being in __all__."""
    import types

    names = [n for n in dir(gsomia) if not n.startswith("_")]
    public = {n for n in names if not isinstance(getattr(gsomia, n), types.ModuleType)}
    assert public - {"annotations"} - set(gsomia.__all__) == set()
