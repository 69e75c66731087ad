---@brief Diagnostics of every source as LSP diagnostics: `claw/diagnostics`, and the code action
--- context.
---
--- Neovim 0.11 sends each language server only the diagnostics of its own namespaces in a
--- `textDocument/codeAction` context. Claw's `Fix with Claw: <message>` actions are about the
--- other servers' (and linters') diagnostics, so the claw client adds every diagnostic on the
--- requested lines to the context of its own code action requests: `gra` then lists a fix for
--- each of them, with no extra mapping.
local util = require('claw.util')

local M = {}

--- Neovim diagnostics of a buffer as LSP diagnostics, ranges converted to `enc`.
---@param bufnr integer
---@param diags vim.Diagnostic[]
---@param enc string
---@return lsp.Diagnostic[]
function M.lsp_diagnostics_of(bufnr, diags, enc)
  local out = {}
  for _, d in ipairs(diags) do
    local end_lnum = d.end_lnum or d.lnum
    local end_col = d.end_col or d.col
    out[#out + 1] = {
      range = util.range(bufnr, d.lnum, d.col, end_lnum, end_col, enc),
      severity = d.severity,
      message = d.message,
      source = d.source,
      code = d.code,
    }
  end
  return out
end

--- All of a buffer's diagnostics (every namespace, every language server) as LSP diagnostics.
---@param bufnr integer
---@param enc string
---@return lsp.Diagnostic[]
function M.lsp_diagnostics(bufnr, enc)
  return M.lsp_diagnostics_of(bufnr, vim.diagnostic.get(bufnr), enc)
end

--- `claw/diagnostics`: current diagnostics of every language server for the given URIs.
---@param params {uris: string[]}
---@param ctx lsp.HandlerContext
---@return table
function M.handle(params, ctx)
  local enc = util.encoding(vim.lsp.get_client_by_id(ctx.client_id))
  local items = {}
  for _, uri in ipairs(params.uris or {}) do
    local bufnr = util.loaded_buf(uri)
    local diags = bufnr and M.lsp_diagnostics(bufnr, enc) or {}
    items[#items + 1] = { uri = uri, diagnostics = diags }
  end
  return { items = items }
end

--- Diagnostics of every namespace whose lines meet `range`, as LSP diagnostics in `enc`.
---@param bufnr integer
---@param range lsp.Range
---@param enc string
---@return lsp.Diagnostic[]
function M.in_range(bufnr, range, enc)
  local first, last = range.start.line, range['end'].line
  local diags = vim.tbl_filter(function(d)
    return d.lnum <= last and (d.end_lnum or d.lnum) >= first
  end, vim.diagnostic.get(bufnr))
  return M.lsp_diagnostics_of(bufnr, diags, enc)
end

local function key(d)
  return table.concat({
    d.message or '',
    d.range.start.line,
    d.range.start.character,
    d.range['end'].line,
    d.range['end'].character,
  }, '\0')
end

--- Add every source's diagnostics on the requested lines to a codeAction context (in place).
---@param client vim.lsp.Client
---@param params table textDocument/codeAction params
function M.complete_context(client, params)
  if type(params) ~= 'table' or type(params.context) ~= 'table' or not params.range then
    return
  end
  local bufnr = util.loaded_buf(params.textDocument and params.textDocument.uri or '')
  if not bufnr then
    return
  end
  local have = {}
  local list = params.context.diagnostics or {}
  for _, d in ipairs(list) do
    have[key(d)] = true
  end
  for _, d in ipairs(M.in_range(bufnr, params.range, util.encoding(client))) do
    if not have[key(d)] then
      have[key(d)] = true
      list[#list + 1] = d
    end
  end
  params.context.diagnostics = list
end

--- Wrap the client's `request` so its code action requests carry every source's diagnostics.
---@param client vim.lsp.Client
function M.attach(client)
  local request = client.request
  client.request = function(first, ...)
    -- Both `client:request(method, params, ...)` and `client.request(method, params, ...)`.
    local method, params
    if first == client then
      method, params = ...
    else
      method, params = first, ...
    end
    if method == 'textDocument/codeAction' then
      pcall(M.complete_context, client, params)
    end
    return request(first, ...)
  end
end

return M
