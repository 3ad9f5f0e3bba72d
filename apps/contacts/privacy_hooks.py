"""Privacy hooks other apps register with, and the contact export / erase built on them.

Higher apps (conversations, tickets) own rows about a contact; contacts cannot import them, so
they register here from AppConfig.ready(): an export section, an erase hook (and sweep), a merge
hook and a contact-page panel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ExportSection = Callable[..., object]
EraseHook = Callable[..., None]
EraseSweep = Callable[..., None]
MergeHook = Callable[..., None]

_export_sections: dict[str, ExportSection] = {}
_erase_hooks: list[EraseHook] = []
_erase_sweeps: list[EraseSweep] = []
_merge_hooks: list[MergeHook] = []
_page_panels: dict[str, ContactPanel] = {}


def register_export_section(name: str, fn: ExportSection) -> None:
    """`fn(contact) -> JSON-able`; appears under `name` in the contact's export."""
    _export_sections[name] = fn


def register_erase_hook(fn: EraseHook) -> None:
    """`fn(*, contact, traces) -> None`: remove or redact every copy of the person's data that app holds.

    Runs inside the erasure's transaction, before the profile is blanked, once per contact of the
    family (the contact and those merged into it). `traces` (apps.contacts.redaction.Traces) holds the
    family's identifiers and names: use it to find rows that mention the person but are not linked to
    the contact (raw webhook bodies, event payloads) and to scrub free text and JSON.
    """
    if fn not in _erase_hooks:
        _erase_hooks.append(fn)


def register_erase_sweep(fn: EraseSweep) -> None:
    """`fn(*, merchant_id, traces) -> None`: once per erasure (not per family member), after the erase
    hooks, for copies linked to no contact that can only be found by the traces (raw webhook bodies)."""
    if fn not in _erase_sweeps:
        _erase_sweeps.append(fn)


def register_merge_hook(fn: MergeHook) -> None:
    """`fn(*, source, target) -> None`: move that app's rows from the source contact to the target."""
    if fn not in _merge_hooks:
        _merge_hooks.append(fn)


@dataclass(frozen=True)
class ContactPanel:
    """A section of the contact page filled by another app.

    `render(*, contact, request) -> str` returns safe HTML (use render_to_string); `capability`
    hides the panel from roles that lack it.
    """

    title: str
    render: Callable[..., str]
    capability: str | None = None
    order: int = 100


def register_contact_panel(name: str, panel: ContactPanel) -> None:
    _page_panels[name] = panel


def export_sections() -> dict[str, ExportSection]:
    return dict(_export_sections)


def erase_hooks() -> list[EraseHook]:
    return list(_erase_hooks)


def erase_sweeps() -> list[EraseSweep]:
    return list(_erase_sweeps)


def merge_hooks() -> list[MergeHook]:
    return list(_merge_hooks)


def contact_panels() -> list[tuple[str, ContactPanel]]:
    return sorted(_page_panels.items(), key=lambda item: (item[1].order, item[0]))
