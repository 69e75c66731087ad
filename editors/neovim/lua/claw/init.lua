---@brief claw.nvim: the Neovim shim of claw-lsp, a coding agent behind a language server.
---
--- `require('claw').setup(opts)` starts the server for every file buffer (0.10+);
--- on 0.11+ `vim.lsp.enable('claw')` alone works too (see lsp/claw.lua).
--- The commands in plugin/claw.lua call the functions below.
local config = require('claw.config')
local util = require('claw.util')

local M = {}

---@type table<string, {title?: string, message?: string, percentage?: integer}> progress by token
M.progress = {}

---@class claw.State
---@field last_buf? integer the last file buffer a prompt was sent from
---@field last_run? string
---@field session_id? string
M.state = {}

local function notify(msg, level)
  vim.notify('claw: ' .. msg, level or vim.log.levels.INFO)
end

--- The claw client for `bufnr` (any claw client as a fallback), with a message when none runs.
---@param bufnr? integer
---@return vim.lsp.Client?
local function client_or_warn(bufnr)
  local client = util.client(bufnr)
  if not client then
    notify(
      'the claw-lsp server is not running (open a file, see :checkhealth claw)',
      vim.log.levels.WARN
    )
  end
  return client
end

local function is_file_buf(bufnr)
  return vim.api.nvim_buf_is_valid(bufnr)
    and vim.bo[bufnr].buftype == ''
    and vim.api.nvim_buf_get_name(bufnr) ~= ''
end

--- The buffer a command acts on: the current one, or the last file buffer when in the transcript.
---@return integer?
local function source_buf()
  local cur = vim.api.nvim_get_current_buf()
  if is_file_buf(cur) then
    return cur
  end
  if M.state.last_buf and is_file_buf(M.state.last_buf) then
    return M.state.last_buf
  end
  return nil
end

---@class claw.AskOpts
---@field prompt? string The prompt (nil: ask with vim.ui.input).
---@field bufnr? integer Buffer the prompt is about (default: current file buffer).
---@field line1? integer First line of a range (1-based).
---@field line2? integer Last line of a range (1-based).
---@field range? lsp.Range An explicit LSP range (wins over line1/line2).
---@field diagnostic? lsp.Diagnostic
---@field action? string
---@field session_id? string Continue this session.
---@field follow_up? boolean Sent from the transcript: no buffer context.
---@field label? string What the transcript shows when there is no prompt.
---@field label? string What the transcript shows when there is no prompt.

--- Send `claw.ask`; the run streams into the transcript.
---@param opts? claw.AskOpts
function M.ask(opts)
  opts = opts or {}
  if opts.prompt == nil and not opts.action then
    local completion = require('claw.commands').INPUT_COMPLETION
    vim.ui.input({ prompt = 'Ask Claw: ', completion = completion }, function(text)
      if text and text ~= '' then
        M.ask(vim.tbl_extend('force', opts, { prompt = text }))
      end
    end)
    return
  end
  local bufnr = opts.bufnr or (not opts.follow_up and source_buf() or nil)
  local client = client_or_warn(bufnr)
  if not client then
    return
  end
  local args = { prompt = opts.prompt }
  local where
  if bufnr then
    M.state.last_buf = bufnr
    args.uri = vim.uri_from_bufnr(bufnr)
    where = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':~:.')
    local enc = util.encoding(client)
    if opts.range then
      args.range = opts.range
    elseif opts.line1 and opts.line2 then
      local l1, l2 = opts.line1 - 1, opts.line2 - 1
      args.range = util.range(bufnr, l1, 0, l2, #util.line(bufnr, l2), enc)
    end
    if args.range then
      where = ('%s:%d-%d'):format(where, args.range.start.line + 1, args.range['end'].line + 1)
    end
  end
  args.sessionId = opts.session_id
  args.diagnostic = opts.diagnostic
  args.action = opts.action
  local transcript = require('claw.transcript')
  transcript.user_prompt(opts.prompt or opts.label or opts.action or '', where)
  if config.options.transcript and config.options.transcript.auto_open then
    transcript.open({ focus = false })
  end
  util.exec(client, 'claw.ask', args, function(err, result)
    if not err and type(result) == 'table' then
      M.state.last_run = result.runId
      M.state.session_id = result.sessionId
      transcript.state.session_id = result.sessionId or transcript.state.session_id
    end
  end, bufnr)
end

--- :ClawAsk [prompt] with an optional range.
---@param cmd table user command args
function M.ask_command(cmd)
  local opts = { prompt = cmd.args ~= '' and cmd.args or nil }
  if cmd.range and cmd.range > 0 then
    opts.line1, opts.line2 = cmd.line1, cmd.line2
  end
  M.ask(opts)
end

--- Diagnostics under the cursor (those covering the cursor column, else the whole line).
---@return vim.Diagnostic[]
local function diagnostics_at_cursor()
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local line_diags = vim.diagnostic.get(0, { lnum = row - 1 })
  local here = vim.tbl_filter(function(d)
    local end_lnum = d.end_lnum or d.lnum
    local end_col = d.end_col or d.col
    local after_start = (row - 1 > d.lnum) or col >= d.col
    local before_end = (row - 1 < end_lnum) or col <= end_col
    return after_start and before_end
  end, line_diags)
  return #here > 0 and here or line_diags
end

--- :ClawFix: ask Claw to fix the diagnostic under the cursor.
function M.fix()
  local bufnr = vim.api.nvim_get_current_buf()
  local diags = diagnostics_at_cursor()
  if #diags == 0 then
    notify('no diagnostic under the cursor', vim.log.levels.WARN)
    return
  end
  local client = client_or_warn(bufnr)
  if not client then
    return
  end
  local function send(d)
    local lsp_diag =
      require('claw.diagnostics').lsp_diagnostics_of(bufnr, { d }, util.encoding(client))[1]
    -- No prompt: the server words the fix prompt from the diagnostic (as for the code action).
    M.ask({
      bufnr = bufnr,
      label = 'Fix: ' .. d.message,
      range = lsp_diag.range,
      diagnostic = lsp_diag,
      action = 'fix',
    })
  end
  if #diags == 1 then
    send(diags[1])
  else
    vim.ui.select(diags, {
      prompt = 'Fix which diagnostic?',
      format_item = function(d)
        return (d.source and (d.source .. ': ') or '') .. d.message
      end,
    }, function(d)
      if d then
        send(d)
      end
    end)
  end
end

--- :ClawCancel: cancel every running run.
function M.cancel()
  local client = client_or_warn(source_buf())
  if client then
    util.exec(client, 'claw.cancel', {}, function(err, result)
      if not err then
        local n = type(result) == 'table'
            and type(result.cancelled) == 'table'
            and #result.cancelled
          or 0
        notify(('cancelled %d run(s)'):format(n))
      end
    end)
  end
end

--- :ClawSessions: pick a session and resume it.
function M.sessions()
  local client = client_or_warn(source_buf())
  if not client then
    return
  end
  util.exec(client, 'claw.sessions.list', {}, function(err, result)
    if err or type(result) ~= 'table' then
      return
    end
    local sessions = result.sessions or {}
    if #sessions == 0 then
      notify('no sessions yet')
      return
    end
    vim.ui.select(sessions, {
      prompt = 'Resume a Claw session',
      kind = 'claw_session',
      format_item = function(s)
        return ('%s%s · %s · %s messages%s'):format(
          s.active and '* ' or '',
          (s.title and s.title ~= '') and s.title or s.sessionId,
          util.relative_time(s.updatedAt),
          tostring(s.messages or '?'),
          s.running and ' · running' or ''
        )
      end,
    }, function(choice)
      if not choice then
        return
      end
      util.exec(
        client,
        'claw.sessions.resume',
        { sessionId = choice.sessionId },
        function(rerr, res)
          if not rerr then
            local id = type(res) == 'table' and res.sessionId or choice.sessionId
            M.state.session_id = id
            require('claw.transcript').state.session_id = id
            notify('resumed session ' .. (choice.title or id))
          end
        end
      )
    end)
  end)
end

--- :ClawNew: start a new session.
function M.new_session()
  local client = client_or_warn(source_buf())
  if client then
    util.exec(client, 'claw.sessions.new', {}, function(err, result)
      if not err and type(result) == 'table' then
        M.state.session_id = result.sessionId
        local transcript = require('claw.transcript')
        transcript.clear()
        transcript.state.session_id = result.sessionId
        notify('new session ' .. tostring(result.sessionId))
      end
    end)
  end
end

--- Format a claw.status result as lines.
---@param s table
---@return string[]
function M.format_status(s)
  local runs = type(s.runs) == 'table' and s.runs or {}
  local running = 0
  for _, r in ipairs(runs) do
    if r.running then
      running = running + 1
    end
  end
  local lines = {
    ('Claw · %s (%s) · %s mode'):format(
      tostring(s.model or '?'),
      tostring(s.provider or '?'),
      tostring(s.permissionMode or '?')
    ),
    ('session: %s'):format(tostring(s.sessionId or 'none yet')),
    ('runs: %d%s'):format(#runs, running > 0 and (' (%d running)'):format(running) or ''),
    'this session: ' .. util.usage_line(s.usage, s.costUsd),
  }
  if type(s.totalUsage) == 'table' then
    lines[#lines + 1] = 'since start: ' .. util.usage_line(s.totalUsage, s.totalCostUsd)
  end
  return lines
end

--- :ClawStatus: model, mode, session, usage and cost.
function M.status()
  local client = client_or_warn(source_buf())
  if client then
    util.exec(client, 'claw.status', {}, function(err, result)
      if not err and type(result) == 'table' then
        M.state.last_status = result
        notify(table.concat(M.format_status(result), '\n'))
      end
    end)
  end
end

--- :ClawTrust [trust|revoke|forget|status]: the workspace's trust decision, kept by the server in
--- the user's state. Only a trusted folder's own settings (.claw/, .claude/, .mcp.json) may widen
--- what Claw does: allow rules, acceptEdits / bypassPermissions, hooks, MCP servers.
---@param action? string 'trust' (default), 'revoke', 'forget' or 'status'
function M.trust(action)
  action = (action == nil or action == '') and 'trust' or action
  local values = { trust = true, revoke = false, forget = vim.NIL }
  if action ~= 'status' and values[action] == nil then
    notify('Claw: :ClawTrust takes trust, revoke, forget or status', vim.log.levels.ERROR)
    return
  end
  local client = client_or_warn(source_buf())
  if not client then
    return
  end
  local args = action == 'status' and {} or { trusted = values[action] }
  util.exec(client, 'claw.workspace.trust', args, function(err, result)
    if err or type(result) ~= 'table' then
      return
    end
    local state = result.trusted == true and 'trusted'
      or result.trusted == false and 'not trusted'
      or 'not decided'
    local lines = { ('Claw: %s is %s'):format(result.folder, state) }
    local held = type(result.heldBack) == 'table' and result.heldBack or {}
    if #held > 0 then
      lines[#lines + 1] = 'held back: ' .. table.concat(held, '; ')
    end
    notify(table.concat(lines, '\n'))
  end)
end

--- :ClawChat: open (and focus) the transcript.
function M.chat()
  require('claw.transcript').open({ focus = true })
end

--- LspProgress from the claw client: remembered for statusline(), echoed when configured.
---@param ev table autocmd args
function M.on_progress(ev)
  local params = ev.data and ev.data.params or {}
  local value = params.value
  local token = tostring(params.token)
  if type(value) ~= 'table' then
    return
  end
  if value.kind == 'end' then
    M.progress[token] = nil
  else
    local prev = M.progress[token] or {}
    M.progress[token] = {
      title = value.title or prev.title,
      message = value.message or prev.message,
      percentage = value.percentage or prev.percentage,
    }
  end
  if config.options.progress_echo then
    local text = M.statusline()
    if value.kind == 'end' then
      text = 'Claw: ' .. (value.message or 'done')
    end
    if text ~= '' then
      vim.api.nvim_echo({ { text, 'Comment' } }, false, {})
    end
  end
  vim.cmd('redrawstatus')
end

--- A statusline component: the running run's progress, '' when idle.
---@return string
function M.statusline()
  for _, p in pairs(M.progress) do
    local text = p.title or 'Claw'
    if p.message and p.message ~= '' then
      text = text .. ': ' .. p.message
    end
    if p.percentage then
      text = ('%s (%d%%)'):format(text, p.percentage)
    end
    return text
  end
  return ''
end

---@param opts claw.Opts
local function set_keymaps(opts)
  if not opts.keymaps then
    return
  end
  local keys = vim.tbl_extend(
    'force',
    config.default_keymaps,
    type(opts.keymaps) == 'table' and opts.keymaps or {}
  )
  local function map(mode, lhs, rhs, desc)
    if lhs then
      vim.keymap.set(mode, lhs, rhs, { desc = desc })
    end
  end
  map('n', keys.ask, '<cmd>ClawAsk<cr>', 'Claw: ask')
  map('x', keys.ask, ':ClawAsk<cr>', 'Claw: ask about the selection')
  map('n', keys.fix, '<cmd>ClawFix<cr>', 'Claw: fix the diagnostic under the cursor')
  map('n', keys.chat, '<cmd>ClawChat<cr>', 'Claw: open the transcript')
  map('n', keys.cancel, '<cmd>ClawCancel<cr>', 'Claw: cancel')
  map('n', keys.sessions, '<cmd>ClawSessions<cr>', 'Claw: sessions')
end

--- Start the server for a buffer (the 0.10 path; 0.11+ uses vim.lsp.enable).
---@param bufnr integer
local function start_for(bufnr)
  local opts = config.options
  if opts.filetypes and not vim.tbl_contains(opts.filetypes, vim.bo[bufnr].filetype) then
    return
  end
  local root = config.root_for(bufnr)
  if not root then
    return
  end
  local cfg = config.lsp_config()
  cfg.root_dir = root
  vim.lsp.start(cfg, { bufnr = bufnr })
end

--- Configure and start the plugin.
---@param opts? claw.Opts
function M.setup(opts)
  opts = config.set(opts)
  set_keymaps(opts)
  local can_enable = vim.lsp.config ~= nil and vim.lsp.enable ~= nil
  if can_enable and opts.start ~= 'autocmd' then
    vim.lsp.config('claw', config.lsp_config())
    vim.lsp.enable('claw')
    return
  end
  local group = vim.api.nvim_create_augroup('claw_start', { clear = true })
  vim.api.nvim_create_autocmd({ 'FileType', 'BufEnter' }, {
    group = group,
    callback = function(ev)
      start_for(ev.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      start_for(bufnr)
    end
  end
end

return M
