-- The log agent's redaction (Fluent Bit `lua` filter, `call redact`; charts/log_agent.py joins the
-- code into the filter's one-line `code` property, so no comment below the header and no `${`).
-- Fields named Authorization, Proxy-Authorization, Cookie or Set-Cookie (any case, at any depth of
-- the record, e.g. the merged JSON of a request log's headers) are dropped; in text, such a header's
-- value is replaced by [REDACTED] up to the next quote, comma, brace or line end.
local DROPPED = { ["authorization"] = true, ["proxy-authorization"] = true, ["cookie"] = true, ["set-cookie"] = true }
local function insensitive(word)
  local pattern = word:gsub("%-", "%%-")
  pattern = pattern:gsub("%a", function(c) return "[" .. c:upper() .. c:lower() .. "]" end)
  return pattern
end
local HEADERS = {}
for name in pairs(DROPPED) do
  HEADERS[#HEADERS + 1] = "(" .. insensitive(name) .. "[\"']?%s*[:=]%s*[\"']?)[^\"',}\r\n]*"
end
local function redact_text(text)
  local lowered = text:lower()
  if not (lowered:find("authorization", 1, true) or lowered:find("cookie", 1, true)) then
    return text, false
  end
  local changed = false
  for _, pattern in ipairs(HEADERS) do
    local count
    text, count = text:gsub(pattern, "%1[REDACTED]")
    if count > 0 then
      changed = true
    end
  end
  return text, changed
end
local function scrub(value)
  local changed = false
  for key, item in pairs(value) do
    if type(key) == "string" and DROPPED[key:lower()] then
      value[key] = nil
      changed = true
    elseif type(item) == "table" then
      changed = scrub(item) or changed
    elseif type(item) == "string" then
      local text, redacted = redact_text(item)
      if redacted then
        value[key] = text
        changed = true
      end
    end
  end
  return changed
end
function redact(tag, timestamp, record)
  if scrub(record) then
    return 2, timestamp, record
  end
  return 0, timestamp, record
end
