---@brief Handlers for `claw/input`, `claw/permission`, `claw/diagnostics`, `claw/saveDocuments`.
local async = require('claw.async')
local util = require('claw.util')

local M = {}

--- `claw/input`: free text through |vim.ui.input|; `{value = nil}` when dismissed.
---@param params {title?: string, prompt?: string, placeholder?: string, value?: string}
---@return {value: string|vim.NIL}
function M.input(params)
  params = params or {}
  local label = params.prompt or params.title or 'Claw'
  local value = async.await(function(done)
    vim.ui.input({
      prompt = label:gsub('%s*$', '') .. ': ',
      default = params.value,
    }, function(text)
      done(text)
    end)
  end)
  if value == nil then
    return { value = vim.NIL }
  end
  return { value = value }
end

--- Human text for a tool call's subject.
---@param params table claw/permission params
---@return string
local function permission_prompt(params)
  local tool = params.toolCall or {}
  local subject = params.subject
  if not subject or subject == '' then
    subject = vim.json.encode(tool.rawInput or vim.empty_dict())
  end
  return ('Claw wants to use %s: %s'):format(tool.title or tool.kind or 'a tool', subject)
end

--- `claw/permission`: the options through |vim.ui.select| showing the exact command or path.
---@param params table
---@return table
function M.permission(params)
  local options = params.options or {}
  local choice = async.await(function(done)
    vim.ui.select(options, {
      prompt = permission_prompt(params),
      kind = 'claw_permission',
      format_item = function(item)
        return item.name or item.optionId
      end,
    }, function(item)
      done(item)
    end)
  end)
  if not choice then
    return { outcome = { outcome = 'cancelled' } }
  end
  local result = { outcome = { outcome = 'selected', optionId = choice.optionId } }
  local opts = require('claw.config').options
  if opts.permission_feedback and tostring(choice.kind or choice.optionId):match('^reject') then
    local feedback = async.await(function(done)
      vim.ui.input({ prompt = 'Tell Claw why (optional): ' }, done)
    end)
    if feedback and feedback ~= '' then
      result.feedback = feedback
    end
  end
  return result
end

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
function M.diagnostics(params, ctx)
  local enc = util.encoding(vim.lsp.get_client_by_id(ctx.client_id))
  local items = {}
  for _, uri in ipairs(params.uris or {}) do
    local bufnr = util.loaded_buf(uri)
    local diags = bufnr and M.lsp_diagnostics(bufnr, enc) or {}
    items[#items + 1] = { uri = uri, diagnostics = diags }
  end
  return { items = items }
end

--- `claw/saveDocuments`: write the given buffers; returns the URIs that are saved.
---@param params {uris: string[]}
---@return {saved: string[]}
function M.save_documents(params)
  local saved = {}
  for _, uri in ipairs(params.uris or {}) do
    local bufnr = util.loaded_buf(uri)
    if bufnr then
      if vim.bo[bufnr].modified then
        pcall(vim.api.nvim_buf_call, bufnr, function()
          vim.cmd('silent write')
        end)
      end
      if not vim.bo[bufnr].modified then
        saved[#saved + 1] = uri
      end
    end
  end
  return { saved = saved }
end

return M
