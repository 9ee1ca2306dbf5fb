"""What runs between ``start()`` and ``stop()``: the emulator, the local endpoint, the local cloud.

Each is a context manager that always stops what it started, also on Ctrl-C or an exception, so a
run never leaves a server listening or moto's process-wide state behind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class Service(ABC):
    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None:
        """Stop and forget what ``start`` made; safe to call twice."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
