"""The MCP tools, by concern; `register_tools(mcp)` adds them all to the server."""

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations

# Hints for MCP clients deciding what to confirm with a person.
READ = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False)
SEND = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=True)


def register_tools(mcp: FastMCP) -> None:
    from messages.mcp_server.tools import (
        drafts,
        inboxes,
        messages,
        sending,
        threads,
        triage,
        waiting,
    )

    for module in (inboxes, threads, messages, sending, drafts, triage, waiting):
        module.register(mcp)
