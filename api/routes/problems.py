"""``/problems``: what each error ``type`` URI means (RFC 9457 asks that they be documented)."""

from __future__ import annotations

from fastapi import APIRouter

from api.errors import PROBLEM_TYPES, problem_type
from layers.errors import NotFound

router = APIRouter(tags=["service"])


def _described(status: int) -> dict[str, object]:
    _, title, meaning = PROBLEM_TYPES[status]
    return {"type": problem_type(status), "status": status, "title": title, "meaning": meaning}


@router.get("/problems", summary="The kinds of error OneMap answers with")
async def list_problems() -> dict[str, object]:
    """Every problem ``type``: its status, title and meaning.

    Errors about parameters also carry ``errors``: a list of ``{parameter, in, detail}``.
    """
    return {"problems": [_described(status) for status in sorted(PROBLEM_TYPES)]}


@router.get("/problems/{slug}", summary="One kind of error")
async def get_problem(slug: str) -> dict[str, object]:
    for status, (known, _, _) in PROBLEM_TYPES.items():
        if known == slug:
            return _described(status)
    raise NotFound(f"no problem type {slug[:60]!r}; see /problems")
