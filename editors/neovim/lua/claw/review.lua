---@brief `claw/review`: a proposed change shown as an inline unified diff, hunk by hunk.
---
--- Keymaps in the review buffer:
---   a  accept the hunk under the cursor    r  reject the hunk under the cursor
---   A  accept all (finish)                 R  reject all (finish)
---   f  feedback for the model              <CR>  finish (undecided hunks are rejected)
---   gd side-by-side diff of old/new        q  reject all and close
--- When every hunk has a decision the review finishes by itself. The answer is
--- `{decision = 'accept'|'reject'|'partial', acceptedHunks?, feedback?}`.
local async = require('claw.async')

local M = {}

local ns = vim.api.nvim_create_namespace('claw_review')

---@class claw.Review
---@field params table
---@field buf integer
---@field win? integer
---@field prev_win? integer
---@field rows table<integer, {first: integer, last: integer}> hunk position -> 0-based rows
---@field decisions table<integer, boolean> hunk position -> accepted?
---@field feedback? string
---@field done fun(result: table)
---@field finished boolean

---@type table<integer, claw.Review> open reviews by buffer
M.open_reviews = {}

local function hunks_of(params)
  local hunks = params.hunks or {}
  if #hunks == 0 then
    -- A create/delete without hunks: show the whole text as one hunk.
    local lines = {}
    for _, l in ipairs(vim.split(params.oldText or '', '\n', { plain = true, trimempty = true })) do
      lines[#lines + 1] = '-' .. l
    end
    for _, l in ipairs(vim.split(params.newText or '', '\n', { plain = true, trimempty = true })) do
      lines[#lines + 1] = '+' .. l
    end
    hunks = {
      {
        index = 0,
        header = '@@ ' .. (params.kind or 'change') .. ' @@',
        diff = table.concat(lines, '\n'),
      },
    }
  end
  return hunks
end

---@param review claw.Review
local function redraw_marks(review)
  vim.api.nvim_buf_clear_namespace(review.buf, ns, 0, -1)
  local hunks = hunks_of(review.params)
  for pos, rows in pairs(review.rows) do
    local d = review.decisions[pos]
    local label, hl = '[ undecided ]', 'Comment'
    if d == true then
      label, hl = '[ accepted ]', 'DiagnosticOk'
    elseif d == false then
      label, hl = '[ rejected ]', 'DiagnosticError'
    end
    vim.api.nvim_buf_set_extmark(review.buf, ns, rows.first, 0, {
      virt_text = { { ('  hunk %d/%d '):format(pos, #hunks), 'Comment' }, { label, hl } },
      virt_text_pos = 'eol',
    })
  end
  if review.feedback then
    vim.api.nvim_buf_set_extmark(review.buf, ns, 0, 0, {
      virt_lines = { { { 'Feedback: ' .. review.feedback, 'DiagnosticInfo' } } },
    })
  end
end

---@param review claw.Review
---@return integer? pos 1-based hunk position under the cursor
local function hunk_at_cursor(review)
  local win = vim.fn.bufwinid(review.buf)
  if win == -1 then
    return nil
  end
  local row = vim.api.nvim_win_get_cursor(win)[1] - 1
  local first_pos, first_row
  for pos, rows in pairs(review.rows) do
    if row >= rows.first and row <= rows.last then
      return pos
    end
    if not first_row or rows.first < first_row then
      first_pos, first_row = pos, rows.first
    end
  end
  if first_row and row < first_row then
    return first_pos
  end
  return nil
end

---@param review claw.Review
local function close(review)
  M.open_reviews[review.buf] = nil
  local prev = review.prev_win
  local win = review.win
  if win and vim.api.nvim_win_is_valid(win) and #vim.api.nvim_list_wins() > 1 then
    pcall(vim.api.nvim_win_close, win, true)
  end
  if vim.api.nvim_buf_is_valid(review.buf) then
    pcall(vim.api.nvim_buf_delete, review.buf, { force = true })
  end
  if prev and vim.api.nvim_win_is_valid(prev) then
    pcall(vim.api.nvim_set_current_win, prev)
  end
end

--- Answer the review with the current decisions (undecided hunks are rejected).
---@param review claw.Review
function M.finish(review)
  if review.finished then
    return
  end
  review.finished = true
  local hunks = hunks_of(review.params)
  local accepted = {}
  for pos, hunk in ipairs(hunks) do
    if review.decisions[pos] == true then
      accepted[#accepted + 1] = hunk.index or (pos - 1)
    end
  end
  local result
  if #accepted == #hunks then
    result = { decision = 'accept' }
  elseif #accepted == 0 then
    result = { decision = 'reject' }
  else
    result = { decision = 'partial', acceptedHunks = accepted }
  end
  if review.feedback then
    result.feedback = review.feedback
  end
  close(review)
  review.done(result)
end

---@param review claw.Review
---@param accept boolean
function M.decide_all(review, accept)
  for pos in pairs(review.rows) do
    review.decisions[pos] = accept
  end
  M.finish(review)
end

--- Decide the hunk under the cursor, move to the next undecided one, finish when all are decided.
---@param review claw.Review
---@param accept boolean
function M.decide(review, accept)
  local pos = hunk_at_cursor(review)
  if not pos then
    return
  end
  review.decisions[pos] = accept
  local total = vim.tbl_count(review.rows)
  if vim.tbl_count(review.decisions) >= total then
    M.finish(review)
    return
  end
  redraw_marks(review)
  for p = 1, total do
    local next_pos = (pos + p - 1) % total + 1
    if review.decisions[next_pos] == nil then
      local win = vim.fn.bufwinid(review.buf)
      if win ~= -1 then
        vim.api.nvim_win_set_cursor(win, { review.rows[next_pos].first + 1, 0 })
      end
      return
    end
  end
end

---@param review claw.Review
function M.ask_feedback(review)
  vim.ui.input({ prompt = 'Feedback for Claw: ', default = review.feedback }, function(text)
    if text ~= nil then
      review.feedback = text ~= '' and text or nil
      if vim.api.nvim_buf_is_valid(review.buf) then
        redraw_marks(review)
      end
    end
  end)
end

--- Show old and new text side by side in diff mode (a new tab).
---@param review claw.Review
function M.side_by_side(review)
  local p = review.params
  local ft = vim.filetype.match({ filename = vim.uri_to_fname(p.uri or 'file:///x') }) or ''
  vim.cmd('tabnew')
  local function scratch(text, name)
    local buf = vim.api.nvim_get_current_buf()
    vim.bo[buf].buftype = 'nofile'
    vim.bo[buf].bufhidden = 'wipe'
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(text or '', '\n', { plain = true }))
    pcall(vim.api.nvim_buf_set_name, buf, ('claw://review/%s/%s'):format(p.changeId or '?', name))
    vim.bo[buf].filetype = ft
    vim.bo[buf].modifiable = false
    vim.cmd('diffthis')
    vim.keymap.set('n', 'q', '<cmd>tabclose<cr>', { buffer = buf })
  end
  scratch(p.oldText, 'old')
  vim.cmd('vnew')
  scratch(p.newText, 'new')
end

---@param review claw.Review
local function set_keymaps(review)
  local function map(lhs, fn, desc)
    vim.keymap.set('n', lhs, fn, { buffer = review.buf, nowait = true, silent = true, desc = desc })
  end
  map('a', function()
    M.decide(review, true)
  end, 'Claw review: accept hunk')
  map('r', function()
    M.decide(review, false)
  end, 'Claw review: reject hunk')
  map('A', function()
    M.decide_all(review, true)
  end, 'Claw review: accept all')
  map('R', function()
    M.decide_all(review, false)
  end, 'Claw review: reject all')
  map('f', function()
    M.ask_feedback(review)
  end, 'Claw review: feedback')
  map('<CR>', function()
    M.finish(review)
  end, 'Claw review: finish')
  map('gd', function()
    M.side_by_side(review)
  end, 'Claw review: side-by-side diff')
  map('q', function()
    M.decide_all(review, false)
  end, 'Claw review: reject all and close')
end

--- Build the review buffer and show it.
---@param params table
---@param done fun(result: table)
---@return claw.Review
function M.show(params, done)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].swapfile = false
  pcall(vim.api.nvim_buf_set_name, buf, 'claw://review/' .. (params.changeId or tostring(buf)))
  local fname = params.uri and vim.uri_to_fname(params.uri) or '?'
  local lines = {
    ('# %s'):format(params.title or ('Review ' .. vim.fn.fnamemodify(fname, ':~:.'))),
    'a/r accept/reject hunk · A/R all · f feedback · <CR> finish · gd side by side · q reject',
    ('--- a/%s'):format(vim.fn.fnamemodify(fname, ':~:.')),
    ('+++ b/%s'):format(vim.fn.fnamemodify(fname, ':~:.')),
  }
  local rows = {}
  for pos, hunk in ipairs(hunks_of(params)) do
    local first = #lines
    lines[#lines + 1] = hunk.header
      or ('@@ -%d,%d +%d,%d @@'):format(
        hunk.oldStart or 0,
        hunk.oldLines or 0,
        hunk.newStart or 0,
        hunk.newLines or 0
      )
    for _, l in ipairs(vim.split(hunk.diff or '', '\n', { plain = true, trimempty = true })) do
      lines[#lines + 1] = l
    end
    rows[pos] = { first = first, last = #lines - 1 }
  end
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = 'diff'

  ---@type claw.Review
  local review = {
    params = params,
    buf = buf,
    rows = rows,
    decisions = {},
    done = done,
    finished = false,
    prev_win = vim.api.nvim_get_current_win(),
  }
  M.open_reviews[buf] = review
  set_keymaps(review)
  redraw_marks(review)
  vim.api.nvim_create_autocmd('BufWipeout', {
    buffer = buf,
    once = true,
    callback = function()
      if not review.finished then
        review.finished = true
        M.open_reviews[buf] = nil
        done({ decision = 'reject', feedback = review.feedback })
      end
    end,
  })

  local layout = (require('claw.config').options.review or {}).layout
  if layout == 'tab' then
    vim.cmd('tabnew')
    local scratch = vim.api.nvim_get_current_buf()
    vim.api.nvim_win_set_buf(0, buf)
    if scratch ~= buf and vim.api.nvim_buf_is_valid(scratch) then
      pcall(vim.api.nvim_buf_delete, scratch, { force = true })
    end
  else
    vim.cmd('botright split')
    vim.api.nvim_win_set_buf(0, buf)
    vim.api.nvim_win_set_height(0, math.min(#lines + 2, math.floor(vim.o.lines / 2)))
  end
  review.win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_cursor(review.win, { (rows[1] and rows[1].first or 0) + 1, 0 })
  return review
end

--- `claw/review` request handler: shows the diff and answers once the user has decided.
---@param params table
---@return table
function M.review(params)
  return async.await(function(done)
    M.show(params, done)
  end)
end

--- The open review for a change id (or the most recent), for commands and tests.
---@param change_id? string
---@return claw.Review?
function M.get(change_id)
  local found
  for _, review in pairs(M.open_reviews) do
    if not change_id or review.params.changeId == change_id then
      if not found or review.buf > found.buf then
        found = review
      end
    end
  end
  return found
end

return M
