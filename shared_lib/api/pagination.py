"""Pagination by ``limit`` and ``offset`` query parameters; the page is described in
``meta.page`` with the total and the next offset."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Sequence, TypeVar

from fastapi import Depends, Query

T = TypeVar("T")
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


@dataclass(frozen=True)
class Page:
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def info(self, total: int) -> dict:
        following = self.offset + self.limit
        return {"limit": self.limit, "offset": self.offset, "total": total,
                "next_offset": following if following < total else None}

    def slice(self, rows: Sequence[T]) -> tuple[list[T], dict]:
        """This page of ``rows`` and its ``meta.page``."""
        return list(rows[self.offset:self.offset + self.limit]), self.info(len(rows))


async def page(limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page")] = DEFAULT_LIMIT,
         offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip")] = 0) -> Page:
    """FastAPI dependency: the page a request asks for."""
    return Page(limit, offset)


# An endpoint's parameter: ``page: PageParam``.
PageParam = Annotated[Page, Depends(page)]
