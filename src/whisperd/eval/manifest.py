"""The evaluation manifest: one JSON object per recording (see shared/eval/README.md).

Only the fields eval and bench use are parsed; unknown fields are ignored, so any
manifest of the same form works. ``file`` may be absolute or relative to the
manifest's folder, which lets a test write a small manifest pointing at real audio.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whisperd.errors import InvalidRequest

MANIFEST_NAME = "manifest.jsonl"

# Expected languages of multilingual items whose manifest entry carries neither
# `languages` nor per-part `segments`: the shared set describes this one only in its
# notes ("first half en, second half de").
KNOWN_LANGUAGES: dict[str, tuple[str, ...]] = {
    "mixed_en_de_fasterwhisper": ("en", "de"),
}


@dataclass(frozen=True)
class Part:
    """One stretch of speech at a known place in the recording."""

    start_s: float
    end_s: float
    text: str
    language: str | None = None
    part_id: str | None = None


@dataclass(frozen=True)
class Pause:
    """The silence between two consecutive parts."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class ManifestItem:
    item_id: str
    path: Path
    kind: str
    # ISO 639-1 code; "mixed" for several languages; None for clips without speech.
    language: str | None
    duration_s: float
    # "" for clips without speech, None where no trustworthy reference exists.
    reference: str | None
    parts: tuple[Part, ...] = ()
    languages: tuple[str, ...] = ()

    @property
    def is_speechless(self) -> bool:
        return self.kind in ("silence", "noise") or self.reference == ""

    @property
    def pauses(self) -> tuple[Pause, ...]:
        ordered = sorted(self.parts, key=lambda p: p.start_s)
        pairs = itertools.pairwise(ordered)
        return tuple(Pause(a.end_s, b.start_s) for a, b in pairs if b.start_s > a.end_s)


def default_manifest(eval_dir: Path | None, cwd: Path) -> Path:
    """WHISPERD_EVAL_DIR's manifest, else the first of ./shared/eval and ../shared/eval."""
    if eval_dir is not None:
        return eval_dir / MANIFEST_NAME
    candidates = [cwd / "shared" / "eval", cwd.parent / "shared" / "eval"]
    for folder in candidates:
        if (folder / MANIFEST_NAME).is_file():
            return folder / MANIFEST_NAME
    raise InvalidRequest(
        "no evaluation manifest found in ./shared/eval or ../shared/eval; "
        "pass --manifest or set WHISPERD_EVAL_DIR",
        param="manifest",
    )


def load_manifest(path: Path) -> list[ManifestItem]:
    """Parse a manifest; raises InvalidRequest naming the line of a malformed entry."""
    base = path.parent
    items: list[ManifestItem] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise InvalidRequest(f"cannot read manifest {path}: {e}", param="manifest") from e
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            items.append(_item_from_dict(json.loads(line), base))
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidRequest(f"{path}:{number}: malformed entry: {e}", param="manifest") from e
    return items


def select(
    items: Iterable[ManifestItem], ids: Iterable[str] = (), kinds: Iterable[str] = ()
) -> list[ManifestItem]:
    """Items whose id is in ``ids`` and whose kind is in ``kinds`` (empty means all)."""
    wanted_ids, wanted_kinds = set(ids), set(kinds)
    chosen = [
        item for item in items
        if (not wanted_ids or item.item_id in wanted_ids)
        and (not wanted_kinds or item.kind in wanted_kinds)
    ]
    unknown = wanted_ids - {item.item_id for item in chosen}
    if unknown:
        raise InvalidRequest(f"no such recording in the manifest: {', '.join(sorted(unknown))}")
    return chosen


def _item_from_dict(data: dict[str, Any], base: Path) -> ManifestItem:
    path = Path(data["file"])
    parts = tuple(
        Part(
            start_s=float(p["start_s"]),
            end_s=float(p["end_s"]),
            text=str(p.get("text", "")),
            language=p.get("language"),
            part_id=p.get("id"),
        )
        for p in data.get("segments") or ()
    )
    languages = tuple(data.get("languages") or ()) or KNOWN_LANGUAGES.get(str(data["id"]), ())
    if not languages and data.get("language") == "mixed":
        languages = tuple(dict.fromkeys(p.language for p in parts if p.language))
    return ManifestItem(
        item_id=str(data["id"]),
        path=path if path.is_absolute() else base / path,
        kind=str(data["kind"]),
        language=data.get("language"),
        duration_s=float(data["duration_s"]),
        reference=data.get("reference"),
        parts=parts,
        languages=languages,
    )
