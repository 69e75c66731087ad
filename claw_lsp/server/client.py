"""What the connected editor can do: one `ClientInfo`, built once at `initialize`.

Every question of the form "can this client take X" (versioned edits, resource operations, change
annotations, work-done progress, configuration pulls, lazy code action commands, the `claw/*`
methods it declared) and "how does this client represent Y" (position encoding, the end of a file)
is answered here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types

from claw_lsp.server.protocol import ClientFeatures


def _get(value: Any, dotted: str) -> Any:
    """`value.a.b.c`, None as soon as a step is missing."""
    for name in dotted.split("."):
        value = getattr(value, name, None)
        if value is None:
            return None
    return value


@dataclass
class ClientInfo:
    """The client's declared capabilities and features, as the server's parts need them."""

    position_encoding: str = "utf-16"
    document_changes: bool = False
    resource_operations: set[str] = field(default_factory=set)  # "create", "rename", "delete"
    change_annotations: bool = False
    normalizes_line_endings: bool = False  # inserted line breaks become the document's own
    show_document: bool = False
    work_done_progress: bool = False
    configuration: bool = False
    resolves_command: bool = False  # codeAction/resolve can fill in a code action's `command`
    features: ClientFeatures = field(default_factory=ClientFeatures)  # declared `claw/*` methods
    name: str = ""

    @property
    def is_neovim(self) -> bool:
        """True for Neovim's built-in client (it names itself "Neovim")."""
        return self.name.lower() == "neovim"

    @property
    def versioned_edits(self) -> bool:
        """True when the client takes versioned `TextDocumentEdit`s (documentChanges).

        Resource operations only exist inside documentChanges, so a client declaring them takes
        TextDocumentEdits too; Neovim 0.11 applies them without declaring documentChanges.
        """
        return self.document_changes or bool(self.resource_operations) or self.is_neovim

    @property
    def final_newline_is_flag(self) -> bool:
        """True when the buffer keeps "the file ends with a newline" as a flag, not as text.

        Neovim's buffer is a list of lines; its 'eol' option says whether the file ends with a line
        break. Text edits cannot change that option, so the server never asks them to.
        """
        return self.is_neovim

    def can(self, operation: str) -> bool:
        """True when the client applies the resource operation ("create", "rename", "delete")."""
        return operation in self.resource_operations

    @classmethod
    def from_initialize(
        cls, params: types.InitializeParams, position_encoding: str | types.PositionEncodingKind | None = None
    ) -> ClientInfo:
        """Read the client's capabilities and `initializationOptions.clientFeatures`.

        Pass the negotiated `position_encoding` (`server.workspace.position_encoding`) when known.
        """
        caps = params.capabilities
        ws_edit = _get(caps, "workspace.workspace_edit")
        ops = {str(getattr(op, "value", op)) for op in (_get(ws_edit, "resource_operations") or [])}
        options = params.initialization_options
        raw = options.get("clientFeatures") if isinstance(options, dict) else None
        features = ClientFeatures.model_validate(raw if isinstance(raw, dict) else {})
        encoding = position_encoding
        if encoding is None:  # what pygls negotiates: the client's first supported preference
            from pygls.capabilities import ServerCapabilitiesBuilder

            encoding = ServerCapabilitiesBuilder.choose_position_encoding(caps)
        resolve_properties = _get(caps, "text_document.code_action.resolve_support.properties") or []
        return cls(
            position_encoding=str(getattr(encoding, "value", encoding)),
            document_changes=bool(_get(ws_edit, "document_changes")),
            resource_operations=ops,
            change_annotations=_get(ws_edit, "change_annotation_support") is not None,
            normalizes_line_endings=bool(_get(ws_edit, "normalizes_line_endings")),
            show_document=bool(_get(caps, "window.show_document.support")),
            work_done_progress=bool(_get(caps, "window.work_done_progress")),
            configuration=bool(_get(caps, "workspace.configuration")),
            resolves_command="command" in resolve_properties,
            features=features,
            name=params.client_info.name if params.client_info else "",
        )
