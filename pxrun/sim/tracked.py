"""Dicts and lists that tell their owner when they change.

Why: the simulator persists each container in its own file (spec 0025), so a change must be
written in time independent of the cluster's size. Handlers change configs in place
(`ct.conf[key] = value`, `ct.pending_delete.remove(key)`) from dozens of places; making the
containers' own collections report every mutation finds exactly the containers a commit
has to write, without anyone remembering to mark them.

Reads stay plain `dict`/`list` operations (no overridden `__getitem__`), so GET config keeps
its speed. A copy (`dict(x)`, `copy.deepcopy`) is a plain, untracked collection.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, SupportsIndex


class Owner(Protocol):
    def touch(self) -> None: ...


class TrackedDict(dict[str, Any]):
    """A dict whose every mutation calls `owner.touch()`."""

    __slots__ = ("_owner",)

    def __init__(self, owner: Owner, data: Any = ()) -> None:
        dict.__init__(self, data)
        self._owner = owner

    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self, key, value)
        self._owner.touch()

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self, key)
        self._owner.touch()

    def pop(self, key: str, *default: Any) -> Any:
        found = dict.pop(self, key, *default)
        self._owner.touch()
        return found

    def popitem(self) -> tuple[str, Any]:
        item = dict.popitem(self)
        self._owner.touch()
        return item

    def clear(self) -> None:
        dict.clear(self)
        self._owner.touch()

    def update(self, *args: Any, **kwargs: Any) -> None:
        dict.update(self, *args, **kwargs)
        self._owner.touch()

    def setdefault(self, key: str, default: Any = None) -> Any:
        found = dict.setdefault(self, key, default)
        self._owner.touch()
        return found

    def __ior__(self, other: Any) -> TrackedDict:  # type: ignore[override,misc]
        dict.update(self, other)
        self._owner.touch()
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        import copy

        return {k: copy.deepcopy(v, memo) for k, v in self.items()}

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))


class TrackedList(list[str]):
    """A list whose every mutation calls `owner.touch()`."""

    __slots__ = ("_owner",)

    def __init__(self, owner: Owner, data: Iterable[str] = ()) -> None:
        list.__init__(self, data)
        self._owner = owner

    def append(self, item: str) -> None:
        list.append(self, item)
        self._owner.touch()

    def extend(self, items: Iterable[str]) -> None:
        list.extend(self, items)
        self._owner.touch()

    def insert(self, index: SupportsIndex, item: str) -> None:
        list.insert(self, index, item)
        self._owner.touch()

    def remove(self, item: str) -> None:
        list.remove(self, item)
        self._owner.touch()

    def pop(self, index: SupportsIndex = -1) -> str:
        item = list.pop(self, index)
        self._owner.touch()
        return item

    def clear(self) -> None:
        list.clear(self)
        self._owner.touch()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        list.sort(self, *args, **kwargs)
        self._owner.touch()

    def __setitem__(self, index: Any, value: Any) -> None:
        list.__setitem__(self, index, value)
        self._owner.touch()

    def __delitem__(self, index: Any) -> None:
        list.__delitem__(self, index)
        self._owner.touch()

    def __iadd__(self, items: Iterable[str]) -> TrackedList:  # type: ignore[override,misc]
        list.extend(self, items)
        self._owner.touch()
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> list[str]:
        return list(self)

    def __copy__(self) -> list[str]:
        return list(self)

    def __reduce__(self) -> Any:
        return (list, (list(self),))
