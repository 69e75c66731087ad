---@brief Small helpers shared by the plugin's modules.
local M = {}

local has_011 = vim.fn.has('nvim-0.11') == 1

--- The claw client attached to `bufnr`, else any running claw client.
---@param bufnr? integer
---@return vim.lsp.Client?
function M.client(bufnr)
  local clients = vim.lsp.get_clients({ name = 'claw', bufnr = bufnr })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = 'claw' })
  end
  return clients[1]
end

--- The client's negotiated position encoding.
---@param client? vim.lsp.Client
---@return 'utf-8'|'utf-16'|'utf-32'
function M.encoding(client)
  return client and client.offset_encoding or 'utf-16'
end

--- Byte column `col` of `line` as an LSP character offset in `enc`.
---@param line string
---@param col integer 0-based byte column
---@param enc string
---@return integer
function M.to_lsp_col(line, col, enc)
  col = math.max(0, math.min(col, #line))
  if enc == 'utf-8' then
    return col
  end
  if has_011 then
    return vim.str_utfindex(line, enc, col, false)
  end
  local utf32, utf16 = vim.str_utfindex(line, col)
  return enc == 'utf-32' and utf32 or utf16
end

--- LSP character offset `char` of `line` in `enc` as a byte column.
---@param line string
---@param char integer
---@param enc string
---@return integer
function M.to_byte_col(line, char, enc)
  if enc == 'utf-8' then
    return math.min(char, #line)
  end
  if has_011 then
    return vim.str_byteindex(line, enc, char, false)
  end
  local ok, idx = pcall(vim.str_byteindex, line, char, enc == 'utf-16')
  return ok and idx or #line
end

--- Text of line `lnum` (0-based) of a buffer, '' past the end.
---@param bufnr integer
---@param lnum integer
---@return string
function M.line(bufnr, lnum)
  return vim.api.nvim_buf_get_lines(bufnr, lnum, lnum + 1, false)[1] or ''
end

--- An LSP range from 0-based line / byte-column pairs of a buffer.
---@param bufnr integer
---@param l1 integer
---@param c1 integer
---@param l2 integer
---@param c2 integer
---@param enc string
---@return lsp.Range
function M.range(bufnr, l1, c1, l2, c2, enc)
  return {
    start = { line = l1, character = M.to_lsp_col(M.line(bufnr, l1), c1, enc) },
    ['end'] = { line = l2, character = M.to_lsp_col(M.line(bufnr, l2), c2, enc) },
  }
end

--- Send a `workspace/executeCommand` with one argument object.
---@param client vim.lsp.Client
---@param command string
---@param arg table
---@param on_result? fun(err: lsp.ResponseError?, result: any)
---@param bufnr? integer
function M.exec(client, command, arg, on_result, bufnr)
  local handler = function(err, result)
    if err then
      vim.notify(
        ('claw: %s failed: %s'):format(command, err.message or vim.inspect(err)),
        vim.log.levels.ERROR
      )
    end
    if on_result then
      on_result(err, result)
    end
  end
  if next(arg) == nil then
    arg = vim.empty_dict() -- `{}` must go out as a JSON object, not `[]`
  end
  local cmd = { title = command, command = command, arguments = { arg } }
  if client.exec_cmd then
    client:exec_cmd(cmd, { bufnr = bufnr or 0 }, handler)
  else
    client.request(
      'workspace/executeCommand',
      { command = command, arguments = { arg } },
      handler,
      bufnr or 0
    )
  end
end

--- Buffer number of a loaded buffer for `uri`, or nil.
---@param uri string
---@return integer?
function M.loaded_buf(uri)
  local ok, fname = pcall(vim.uri_to_fname, uri)
  if not ok then
    return nil
  end
  local want = vim.uv.fs_realpath(fname) or vim.fs.normalize(fname)
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    local name = vim.api.nvim_buf_get_name(bufnr)
    if
      name ~= ''
      and vim.api.nvim_buf_is_loaded(bufnr)
      and (name == fname or (vim.uv.fs_realpath(name) or vim.fs.normalize(name)) == want)
    then
      return bufnr
    end
  end
  return nil
end

--- "5 min ago"-style text for an ISO 8601 UTC time (as the server sends `updatedAt`).
---@param iso string?
---@param now? integer seconds since the epoch (default: now)
---@return string
function M.relative_time(iso, now)
  local y, mo, d, h, mi, sec = tostring(iso or ''):match('^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)')
  if not y then
    return iso or '?'
  end
  -- os.time reads a table as local time; correct by the local offset to read it as UTC.
  local t = {
    year = tonumber(y),
    month = tonumber(mo),
    day = tonumber(d),
    hour = tonumber(h),
    min = tonumber(mi),
    sec = tonumber(sec),
  }
  local utc_now = now or os.time()
  local offset = os.time(os.date('*t', utc_now)) - os.time(os.date('!*t', utc_now))
  local then_ = os.time(t) + offset
  local ago = math.max(0, utc_now - then_)
  if ago < 60 then
    return 'just now'
  elseif ago < 3600 then
    return ('%d min ago'):format(math.floor(ago / 60))
  elseif ago < 86400 then
    local n = math.floor(ago / 3600)
    return ('%d hour%s ago'):format(n, n == 1 and '' or 's')
  end
  local n = math.floor(ago / 86400)
  return ('%d day%s ago'):format(n, n == 1 and '' or 's')
end

--- A token count with thousands separators: 12345 -> "12,345".
---@param n number?
---@return string
function M.thousands(n)
  local s = tostring(math.floor(tonumber(n) or 0))
  local out = s:reverse():gsub('(%d%d%d)', '%1,'):reverse()
  return (out:gsub('^,', ''))
end

--- One line of token usage and cost: "12,345 in · 678 out · $0.0123".
---@param usage table?
---@param cost number?
---@return string
function M.usage_line(usage, cost)
  usage = type(usage) == 'table' and usage or {}
  local input = (usage.input_tokens or 0)
    + (usage.cache_creation_input_tokens or 0)
    + (usage.cache_read_input_tokens or 0)
  local line = ('%s tokens in · %s out'):format(
    M.thousands(input),
    M.thousands(usage.output_tokens or 0)
  )
  if type(cost) == 'number' then
    line = line .. (' · $%.4f'):format(cost)
  end
  return line
end

return M
