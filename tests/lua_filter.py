"""Runs a Fluent Bit `lua` filter's code in LuaJIT, the Lua Fluent Bit embeds (lib/luajit in fluent/fluent-bit
v4.2.2), as the filter calls it: plugins/filter_lua/lua.c pushes the tag, the timestamp and the record as a
table, calls the function named by `call`, and reads back (code, timestamp, record): -1 drops the
record, 0 keeps it unchanged, 1 and 2 replace it (2 keeping the timestamp).

Records go in as Lua table constructors and come back as JSON printed by a small encoder below (strings,
numbers, booleans and tables; a table with keys 1..n is an array).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

ENCODER = r"""
local function encode(v)
  local t = type(v)
  if t == "string" then return (string.format("%q", v):gsub("\\\n", "\\n")) end
  if t == "number" or t == "boolean" then return tostring(v) end
  if t ~= "table" then return "null" end
  local n = #v
  local parts = {}
  if n > 0 then
    for i = 1, n do parts[#parts + 1] = encode(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = encode(k) .. ":" .. encode(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end
"""


def lua_literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua_literal(key)}] = {lua_literal(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "{" + ", ".join(lua_literal(item) for item in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    return '"' + "".join(f"\\{ord(c):03d}" if c in '"\\' or ord(c) < 32 else c for c in text) + '"'


def run_filter(luajit: str, code: str, call: str, records: list[dict[str, Any]], tag: str = "kube.test") -> list[tuple[int, Any]]:
    """(code, record) per input record, as the filter returns them."""
    lines = [code, ENCODER]
    for record in records:
        lines.append(
            f"do local c, ts, r = {call}({lua_literal(tag)}, 1700000000.5, {lua_literal(record)}) "
            'io.write(tostring(c), "\\t", encode(r), "\\n") end'
        )
    result = subprocess.run([luajit, "-"], input="\n".join(lines), capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise AssertionError(f"luajit failed: {result.stderr}")
    out = []
    for line in result.stdout.splitlines():
        status, body = line.split("\t", 1)
        out.append((int(status), json.loads(body)))
    return out
