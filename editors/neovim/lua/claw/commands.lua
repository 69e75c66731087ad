---@brief Slash commands for `:ClawAsk /name args`: the server's `claw.commands.list` (built-ins,
--- the user's and the project's commands, skills), cached per client and refreshed after each run
--- (a run may have added a command file), for the command line's completion.
local util = require('claw.util')

local M = {}

---@class claw.SlashCommand
---@field name string
---@field description string
---@field argumentHint? string
---@field kind 'builtin'|'command'|'skill'
---@field scope 'builtin'|'user'|'project'
---@field modelInvocable boolean

---@type table<integer, claw.SlashCommand[]> the last list each client (by id) answered
M.cache = {}
---@type table<integer, boolean> clients with a refresh in flight
local refreshing = {}

--- Keep what a `claw.commands.list` result holds, for `client_id`.
---@param client_id integer
---@param result any
---@return boolean stored
local function store(client_id, result)
  if type(result) == 'table' and type(result.commands) == 'table' then
    M.cache[client_id] = result.commands
    return true
  end
  return false
end

--- Fetch the list again in the background (after a run); the cache keeps the old one meanwhile.
---@param client_id integer
function M.refresh(client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  if not client or refreshing[client_id] then
    return
  end
  refreshing[client_id] = true
  util.exec(client, 'claw.commands.list', {}, function(err, result)
    refreshing[client_id] = nil
    if not err then
      store(client_id, result)
    end
  end)
end

--- The commands of `client`: the cached list, else asked for now (at most `timeout_ms`, so the
--- first completion waits for the server's answer rather than offering nothing).
---@param client vim.lsp.Client
---@param timeout_ms? integer
---@return claw.SlashCommand[]
function M.list(client, timeout_ms)
  local cached = M.cache[client.id]
  if cached then
    return cached
  end
  local params = { command = 'claw.commands.list', arguments = { vim.empty_dict() } }
  local response
  if vim.fn.has('nvim-0.11') == 1 then
    response = client:request_sync('workspace/executeCommand', params, timeout_ms or 2000, 0)
  else
    response = client.request_sync('workspace/executeCommand', params, timeout_ms or 2000, 0)
  end
  if response and not response.err and store(client.id, response.result) then
    return M.cache[client.id]
  end
  return {}
end

--- `:ClawAsk` completion: `/name` for the first word of the prompt (what `/` starts); nothing
--- for later words (the arguments are free text).
---@param arglead string
---@param cmdline string
---@return string[]
function M.complete(arglead, cmdline)
  local args = cmdline:match('ClawAsk!?%s+(.*)$') or ''
  if args ~= arglead or (arglead ~= '' and arglead:sub(1, 1) ~= '/') then
    return {}
  end
  local client = util.client(vim.api.nvim_get_current_buf())
  if not client then
    return {}
  end
  local found = {}
  for _, command in ipairs(M.list(client)) do
    local word = '/' .. command.name
    if vim.startswith(word, arglead) then
      found[#found + 1] = word
    end
  end
  return found
end

--- Completion of a prompt typed in |vim.ui.input()| (`Ask Claw:`, the transcript's follow-up):
--- `/name` while the text is a single word starting with `/`.
---@param arglead string
---@return string[]
function M.complete_input(arglead)
  return M.complete(arglead, 'ClawAsk ' .. arglead)
end

--- The `completion` option of |input()| that calls `complete_input`.
M.INPUT_COMPLETION = "customlist,v:lua.require'claw.commands'.complete_input"

return M
