---@brief Handlers for `claw/input`, `claw/permission` and `claw/saveDocuments`.
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
  -- The model's description (the title) and the exact command or path, each once.
  local title = tool.title or tool.kind or 'a tool'
  if title:find(subject, 1, true) then
    return ('Claw wants to: %s'):format(title)
  end
  return ('Claw wants to: %s\n  %s'):format(title, subject)
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
