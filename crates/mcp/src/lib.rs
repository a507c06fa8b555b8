//! MCP server exposing capabilities as tools, calling the API on the caller's behalf.
