---@brief The transcript: a markdown buffer that streams `claw/event` live.
---
--- Each run starts with its prompt (also for runs started from code actions), assistant text is
--- appended as it streams, thinking is quoted, tool calls get one line each that is updated in
--- place (tracked by extmark per toolCallId) with their output folded under it (`za` / `<Tab>`
--- opens it: command output, the lines read, the diff applied, rejected hunks and the feedback
--- sent), the plan is a `- [ ]` / `- [x]` checklist replaced in place, and each run ends with a
--- usage/cost line. In the transcript, `<CR>` (or `i`) sends a follow-up prompt in the same
--- session, `<C-c>` cancels the running run and `q` closes the window.
local M = {}

local ns = vim.api.nvim_create_namespace('claw_transcript')

---@class claw.RunState
---@field tools table<string, integer> toolCallId -> extmark id
---@field tool_info table<string, table> toolCallId -> last known tool call fields
---@field plan_mark? integer extmark of the plan block's first line
---@field plan_len integer
---@field usage_mark? integer
---@field session_id? string
---@field finished boolean

---@class claw.TranscriptState
---@field buf? integer
---@field runs table<string, claw.RunState>
---@field current_run? string run whose text is being streamed
---@field text_open boolean the last line is streamed assistant text
---@field session_id? string the session of the latest run (follow-ups go there)
---@field last_run? string
M.state = { runs = {}, text_open = false }

local status_icon = {
  pending = '○',
  in_progress = '◐',
  completed = '✓',
  failed = '✗',
}

local plan_box = { completed = '[x]', in_progress = '[~]', pending = '[ ]' }

-- Tool output lines start with this; the transcript folds them (see M.foldexpr).
local OUT = '    │ '
local MAX_OUTPUT_LINES = 200

local function valid_buf()
  local buf = M.state.buf
  return buf and vim.api.nvim_buf_is_valid(buf)
end

local function set_keymaps(buf)
  local function map(lhs, fn, desc)
    vim.keymap.set('n', lhs, fn, { buffer = buf, nowait = true, silent = true, desc = desc })
  end
  map('<CR>', M.follow_up, 'Claw: send a follow-up prompt')
  map('i', M.follow_up, 'Claw: send a follow-up prompt')
  map('<C-c>', function()
    require('claw').cancel()
  end, 'Claw: cancel the run')
  map('q', function()
    vim.cmd('close')
  end, 'Close the transcript')
  map('<Tab>', 'za', 'Claw: open or close the tool output under the cursor')
end

--- 'foldexpr' of the transcript: a tool's output lines form one closed fold.
---@param lnum integer
---@return string
function M.foldexpr(lnum)
  local line = vim.fn.getline(lnum)
  return vim.startswith(line, OUT) and '1' or '0'
end

--- 'foldtext' of the transcript: how many lines of output a fold holds.
---@return string
function M.foldtext()
  local n = vim.v.foldend - vim.v.foldstart + 1
  return ('%s%d line%s of output (<Tab> to open)'):format(OUT, n, n == 1 and '' or 's')
end

--- Window options of a window showing the transcript.
---@param win integer
function M.setup_window(win)
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  vim.wo[win].conceallevel = 2
  vim.wo[win].foldmethod = 'expr'
  vim.wo[win].foldexpr = "v:lua.require'claw.transcript'.foldexpr(v:lnum)"
  vim.wo[win].foldtext = "v:lua.require'claw.transcript'.foldtext()"
  vim.wo[win].foldlevel = 0
  vim.wo[win].foldenable = true
end

--- The transcript buffer, created on first use.
---@return integer
function M.buf()
  if valid_buf() then
    return M.state.buf --[[@as integer]]
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(buf, 'claw://transcript')
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'hide'
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = 'markdown'
  -- Markdown's syntax marks `_` inside words (snake_case names, paths) as errors.
  vim.api.nvim_buf_call(buf, function()
    pcall(vim.cmd, 'syntax clear markdownError')
  end)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, {
    '# Claw',
    '',
    '_<CR> follow-up · <C-c> cancel · <Tab> output · q close_',
  })
  set_keymaps(buf)
  -- A new buffer (first use, or the old one was wiped): old extmarks are gone, headers too.
  M.state.buf, M.state.text_open, M.state.current_run = buf, false, nil
  M.state.runs = {}
  return buf
end

--- Windows showing the transcript whose cursor is on the last line (they follow the stream).
local function following_windows(buf)
  local wins = {}
  local last = vim.api.nvim_buf_line_count(buf)
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    if vim.api.nvim_win_get_cursor(win)[1] >= last then
      wins[#wins + 1] = win
    end
  end
  return wins
end

local function scroll(buf, wins)
  local last = vim.api.nvim_buf_line_count(buf)
  for _, win in ipairs(wins) do
    if vim.api.nvim_win_is_valid(win) then
      pcall(vim.api.nvim_win_set_cursor, win, { last, 0 })
    end
  end
end

--- Append lines at the end; returns the 0-based row of the first appended line.
---@param lines string[]
---@return integer
local function append(lines)
  local buf = M.buf()
  local wins = following_windows(buf)
  local row = vim.api.nvim_buf_line_count(buf)
  vim.api.nvim_buf_set_lines(buf, row, row, false, lines)
  scroll(buf, wins)
  M.state.text_open = false
  return row
end

--- Append streamed text to the last line (newlines open new lines).
---@param text string
local function append_text(text)
  local buf = M.buf()
  if not M.state.text_open then
    append({ '' })
    M.state.text_open = true
  end
  local wins = following_windows(buf)
  local last = vim.api.nvim_buf_line_count(buf) - 1
  local parts = vim.split(text, '\n', { plain = true })
  local cur = vim.api.nvim_buf_get_lines(buf, last, last + 1, false)[1] or ''
  parts[1] = cur .. parts[1]
  vim.api.nvim_buf_set_lines(buf, last, last + 1, false, parts)
  scroll(buf, wins)
end

--- Replace `old_len` lines from the one holding extmark `mark` (append when there is none).
--- An in-place replacement leaves a streamed text line (always the last line) open.
---@param mark integer?
---@param lines string[]
---@param old_len integer
---@return integer mark
local function replace_at(mark, lines, old_len)
  local buf = M.buf()
  if mark then
    local pos = vim.api.nvim_buf_get_extmark_by_id(buf, ns, mark, {})
    if pos and pos[1] then
      vim.api.nvim_buf_set_lines(buf, pos[1], pos[1] + old_len, false, lines)
      return vim.api.nvim_buf_set_extmark(buf, ns, pos[1], 0, { id = mark })
    end
  end
  local row = append(lines)
  return vim.api.nvim_buf_set_extmark(buf, ns, row, 0, {})
end

---@param run_id string
---@return claw.RunState
local function run_state(run_id)
  local run = M.state.runs[run_id]
  if not run then
    run = { tools = {}, tool_info = {}, plan_len = 0, finished = false }
    M.state.runs[run_id] = run
  end
  return run
end

--- Header for a run whose first event arrives.
local function ensure_run_header(run_id)
  if M.state.current_run ~= run_id then
    M.state.current_run = run_id
    append({ '', ('## Claw · %s'):format(run_id) })
    local topts = require('claw.config').options.transcript or {}
    if topts.auto_open and #vim.fn.win_findbuf(M.buf()) == 0 then
      M.open({ focus = false })
    end
  end
end

--- The claw-specific outcome of a tool call (`_meta.claw` of its last update).
local function claw_meta(info)
  local meta = type(info._meta) == 'table' and info._meta.claw or nil
  return type(meta) == 'table' and meta or {}
end

---@param info table
---@return string
local function tool_line(info)
  local meta = claw_meta(info)
  local review = type(meta.review) == 'table' and meta.review or nil
  local icon = status_icon[info.status or 'pending'] or '•'
  local suffix
  if meta.permission == 'denied' then
    icon, suffix = '✗', 'denied'
  elseif review and review.decision == 'partial' then
    local rejected = review.rejectedHunks or {}
    icon, suffix =
      '◑', ('partly applied: %d hunk%s rejected'):format(#rejected, #rejected == 1 and '' or 's')
  elseif review and review.decision == 'reject' then
    icon, suffix = '✗', 'rejected'
  end
  local title = info.title or info.kind or 'tool'
  local line = ('- %s `%s`'):format(icon, (title:gsub('`', "'")))
  if suffix then
    line = line .. ' — ' .. suffix
  elseif info.status == 'failed' and info.error then
    line = line .. ' — ' .. info.error
  end
  return (line:gsub('\n', ' '))
end

--- The unified diff of one `diff` content item (what landed).
local function diff_lines(item)
  local old = (item.oldText or ''):gsub('\r\n', '\n')
  local new = (item.newText or ''):gsub('\r\n', '\n')
  local ok, text = pcall(vim.diff, old, new, { ctxlen = 1 })
  if not ok or type(text) ~= 'string' then
    return {}
  end
  local lines = { ('diff %s'):format(vim.fn.fnamemodify(item.path or '?', ':~:.')) }
  for _, l in ipairs(vim.split(text, '\n', { plain = true, trimempty = true })) do
    lines[#lines + 1] = l
  end
  return lines
end

--- The folded output under a finished tool call: its result text, the diff that landed, the
--- feedback sent with a rejection.
---@param info table
---@return string[]
local function output_lines(info)
  local body = {}
  for _, item in ipairs(info.content or {}) do
    if item.type == 'content' and type(item.content) == 'table' and item.content.type == 'text' then
      vim.list_extend(
        body,
        vim.split(item.content.text or '', '\n', { plain = true, trimempty = true })
      )
    elseif item.type == 'diff' then
      vim.list_extend(body, diff_lines(item))
    end
  end
  local review = claw_meta(info).review
  if type(review) == 'table' and review.feedback then
    local said = table.concat(body, '\n'):find(review.feedback, 1, true)
    if not said then -- the result text usually quotes it already
      body[#body + 1] = 'Feedback sent: ' .. review.feedback:gsub('\n', ' ')
    end
  end
  local lines = {}
  for i, l in ipairs(body) do
    if i > MAX_OUTPUT_LINES then
      lines[#lines + 1] = OUT .. ('… %d more lines'):format(#body - MAX_OUTPUT_LINES)
      break
    end
    lines[#lines + 1] = OUT .. l
  end
  return lines
end

--- The tool's line and, once it finished, its folded output.
local function tool_block(info)
  local lines = { tool_line(info) }
  if info.status == 'completed' or info.status == 'failed' then
    vim.list_extend(lines, output_lines(info))
  end
  if claw_meta(info).parentToolCallId then -- a subagent's call: nested under its Agent call
    for i, l in ipairs(lines) do
      lines[i] = '  ' .. l
    end
  end
  return lines
end

local function tool_content_text(update)
  for _, item in ipairs(update.content or {}) do
    local c = item.content
    if type(c) == 'table' and c.type == 'text' and c.text then
      return vim.split(c.text, '\n', { plain = true })[1]
    end
  end
end

local function format_cost(amount)
  if type(amount) ~= 'number' then
    return nil
  end
  return ('$%.4f'):format(amount)
end

--- Render one session update.
---@param run_id string
---@param update table
local function render(run_id, update)
  local kind = update.sessionUpdate
  local run = run_state(run_id)
  ensure_run_header(run_id)
  if kind == 'agent_message_chunk' then
    local content = update.content or {}
    if content.text then
      append_text(content.text)
    end
  elseif kind == 'agent_thought_chunk' then
    local content = update.content or {}
    if content.text and content.text ~= '' then
      local lines = vim.split(content.text, '\n', { plain = true })
      for i, l in ipairs(lines) do
        lines[i] = '> ' .. l
      end
      append(lines)
    end
  elseif kind == 'run_started' then
    local pending = M.state.pending_prompt
    M.state.pending_prompt = nil
    if pending == nil then -- a run the transcript did not start (a code action, another client)
      local lines = { '', '## You' }
      vim.list_extend(lines, vim.split(update.prompt or '', '\n', { plain = true }))
      append(lines)
    end
  elseif kind == 'tool_call' or kind == 'tool_call_update' then
    local id = update.toolCallId or tostring(vim.tbl_count(run.tools))
    local info = vim.tbl_extend('force', run.tool_info[id] or {}, update)
    if update.status == 'failed' then
      info.error = tool_content_text(update)
    end
    local old_len = info.block_len or 1
    local lines = tool_block(info)
    info.block_len = #lines
    run.tool_info[id] = info
    run.tools[id] = replace_at(run.tools[id], lines, old_len)
  elseif kind == 'plan' then
    local lines = { '', '**Plan**' }
    for _, entry in ipairs(update.entries or {}) do
      lines[#lines + 1] = ('- %s %s'):format(plan_box[entry.status] or '[ ]', entry.content or '')
    end
    run.plan_mark = replace_at(run.plan_mark, lines, run.plan_len)
    run.plan_len = #lines
  elseif kind == 'usage_update' then
    local parts = { ('_usage: %s / %s tokens'):format(update.used or '?', update.size or '?') }
    local cost = format_cost(type(update.cost) == 'table' and update.cost.amount or nil)
    if cost then
      parts[#parts + 1] = cost
    end
    run.usage_mark = replace_at(run.usage_mark, { table.concat(parts, ' · ') .. '_' }, 1)
  elseif kind == 'run_finished' then
    run.finished = true
    local line = ('_run finished: %s'):format(update.stopReason or 'done')
    local cost = format_cost(update.costUsd)
    if cost then
      line = line .. ' · ' .. cost
    end
    local lines = { '', line .. '_' }
    if update.error then
      lines[#lines + 1] = '**Error:** ' .. tostring(update.error):gsub('\n', ' ')
    end
    append(lines)
    M.state.current_run = nil
    require('claw.review').run_finished(run_id)
  end
end

--- `claw/event` notification handler.
---@param params {runId: string, sessionId?: string, update: table}
function M.on_event(params)
  if type(params) ~= 'table' or type(params.update) ~= 'table' then
    return
  end
  M.buf()
  local run_id = params.runId or 'run'
  if params.sessionId then
    M.state.session_id = params.sessionId
    run_state(run_id).session_id = params.sessionId
  end
  M.state.last_run = run_id
  render(run_id, params.update)
  vim.api.nvim_exec_autocmds('User', { pattern = 'ClawEvent', data = params, modeline = false })
end

--- Record the user's prompt before its run starts.
---@param prompt string
---@param where? string e.g. "app.py:3-5"
function M.user_prompt(prompt, where)
  M.buf()
  local lines = { '', '## You' .. (where and (' · ' .. where) or '') }
  vim.list_extend(
    lines,
    vim.split(prompt ~= '' and prompt or '(no prompt)', '\n', { plain = true })
  )
  append(lines)
  M.state.current_run = nil
  M.state.pending_prompt = prompt
end

--- A new session: the transcript starts clean.
function M.clear()
  local buf = M.buf()
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, {
    '# Claw',
    '',
    '_<CR> follow-up · <C-c> cancel · <Tab> output · q close_',
  })
  vim.api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  M.state.runs, M.state.text_open, M.state.current_run, M.state.pending_prompt = {}, false, nil, nil
end

--- Open the transcript in a window (split, vsplit or float); focus it when `focus`.
---@param opts? {focus?: boolean}
---@return integer win
function M.open(opts)
  opts = opts or {}
  local buf = M.buf()
  local wins = vim.fn.win_findbuf(buf)
  if #wins > 0 then
    if opts.focus then
      vim.api.nvim_set_current_win(wins[1])
    end
    return wins[1]
  end
  local topts = require('claw.config').options.transcript or {}
  local cur = vim.api.nvim_get_current_win()
  local win
  if topts.layout == 'float' then
    local width = math.floor(vim.o.columns * 0.7)
    local height = math.floor(vim.o.lines * 0.7)
    win = vim.api.nvim_open_win(buf, true, {
      relative = 'editor',
      width = width,
      height = height,
      row = math.floor((vim.o.lines - height) / 2),
      col = math.floor((vim.o.columns - width) / 2),
      border = 'rounded',
      title = ' Claw ',
    })
  else
    local vertical = topts.layout ~= 'split'
    vim.cmd((vertical and 'botright vsplit' or 'botright split'))
    win = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(win, buf)
    if topts.size then
      if vertical then
        vim.api.nvim_win_set_width(win, topts.size)
      else
        vim.api.nvim_win_set_height(win, topts.size)
      end
    end
  end
  M.setup_window(win)
  pcall(vim.api.nvim_win_set_cursor, win, { vim.api.nvim_buf_line_count(buf), 0 })
  if not opts.focus and vim.api.nvim_win_is_valid(cur) then
    vim.api.nvim_set_current_win(cur)
  end
  return win
end

--- Ask a follow-up question in the transcript's session.
function M.follow_up()
  local completion = require('claw.commands').INPUT_COMPLETION
  vim.ui.input({ prompt = 'Follow-up for Claw: ', completion = completion }, function(text)
    if text and text ~= '' then
      require('claw').ask({ prompt = text, session_id = M.state.session_id, follow_up = true })
    end
  end)
end

--- The transcript's text (for tests and :ClawChat users).
---@return string
function M.text()
  if not valid_buf() then
    return ''
  end
  return table.concat(vim.api.nvim_buf_get_lines(M.state.buf, 0, -1, false), '\n')
end

return M
