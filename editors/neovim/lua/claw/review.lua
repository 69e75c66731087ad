---@brief `claw/review`: a proposed change, decided hunk by hunk before anything lands.
---
--- Inline (the default, `review.layout = 'inline'`): the change is drawn in the file's own buffer
--- (|claw.inline|), with buffer-local keymaps while it is pending (`review.keys`):
---   ga accept the hunk under the cursor     gr reject it       gR reject it with feedback
---   gA accept every undecided hunk          gX reject them     ]h / [h next / previous hunk
---   gD the split diff (old left, new right, as vimdiff)
--- Nothing in the buffer changes until the review is answered; |:ClawReview| shows a pending one
--- again. New files, deletions and renames, and `review.layout = 'split'|'tab'`, use a review
--- buffer with the unified diff instead:
---   a  accept the hunk under the cursor    r  reject the hunk under the cursor
---   A  accept all (finish)                 R  reject all (finish)
---   f  feedback for the model              <CR>  finish (undecided hunks are rejected)
---   gd side-by-side diff of old/new        q  reject all and close
--- When every hunk has a decision the review finishes by itself. The answer is
--- `{decision = 'accept'|'reject'|'partial', acceptedHunks?, feedback?}`.
local async = require('claw.async')
local inline = require('claw.inline')

local M = {}

local ns = vim.api.nvim_create_namespace('claw_review')

--- The inline review's default keys (`review.keys` overrides them; false turns one off).
M.default_keys = {
  accept = 'ga',
  reject = 'gr',
  feedback = 'gR',
  accept_all = 'gA',
  reject_all = 'gX',
  next = ']h',
  prev = '[h',
  diff = 'gD',
}

---@class claw.Review
---@field params table
---@field mode 'inline'|'buffer'
---@field buf integer the file's buffer (inline) or the review buffer
---@field win? integer
---@field prev_win? integer
---@field rows table<integer, {first: integer, last: integer}> review buffer: hunk position -> 0-based rows
---@field inline claw.InlineHunk[] inline: the hunks, tracked by extmarks
---@field decisions table<integer, boolean> hunk position -> accepted?
---@field feedbacks table<integer, string> hunk position -> feedback given when rejecting it
---@field feedback? string feedback for the whole change
---@field saved_maps table[] inline: the buffer's own mappings the review keys shadowed
---@field done fun(result: table)
---@field finished boolean
---@field seq integer arrival order

---@type table<string, claw.Review> pending reviews by change id
M.pending = {}
local seq = 0 -- reviews in order of arrival
--- Kept for older callers and tests: pending reviews by buffer.
M.open_reviews = {}

local function keys()
  local opts = require('claw.config').options.review or {}
  return vim.tbl_extend('force', M.default_keys, opts.keys or {})
end

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
---@return integer
local function total(review)
  return review.mode == 'inline' and #review.inline or vim.tbl_count(review.rows)
end

--- The review buffer's hunk label, as real text (so `/hunk 2` finds it).
local function label(review, pos)
  local d = review.decisions[pos]
  local state = d == true and 'accepted' or d == false and 'rejected' or 'undecided'
  return ('hunk %d/%d [%s]'):format(pos, total(review), state)
end

---@param review claw.Review
local function redraw(review)
  if review.mode == 'inline' then
    if vim.api.nvim_buf_is_valid(review.buf) then
      inline.draw(review, keys())
    end
    return
  end
  if not vim.api.nvim_buf_is_valid(review.buf) then
    return
  end
  vim.bo[review.buf].modifiable = true
  local hunks = hunks_of(review.params)
  for pos, rows in pairs(review.rows) do
    local hunk = hunks[pos]
    local header = hunk.header
      or ('@@ -%d,%d +%d,%d @@'):format(
        hunk.oldStart or 0,
        hunk.oldLines or 0,
        hunk.newStart or 0,
        hunk.newLines or 0
      )
    vim.api.nvim_buf_set_lines(
      review.buf,
      rows.first,
      rows.first + 1,
      false,
      { header .. '  ' .. label(review, pos) }
    )
  end
  vim.bo[review.buf].modifiable = false
  vim.api.nvim_buf_clear_namespace(review.buf, ns, 0, -1)
  if review.feedback then
    vim.api.nvim_buf_set_extmark(review.buf, ns, 0, 0, {
      virt_lines = { { { 'Feedback: ' .. review.feedback, 'DiagnosticInfo' } } },
    })
  end
end

--- The window showing the review's buffer (current one first), if any.
local function window_of(review)
  if vim.api.nvim_get_current_buf() == review.buf then
    return vim.api.nvim_get_current_win()
  end
  local win = vim.fn.bufwinid(review.buf)
  return win ~= -1 and win or nil
end

---@param review claw.Review
---@return integer? pos 1-based hunk position under the cursor
local function hunk_at_cursor(review)
  local win = window_of(review)
  if not win then
    return nil
  end
  local row = vim.api.nvim_win_get_cursor(win)[1] - 1
  if review.mode == 'inline' then
    return inline.hunk_at(review, row)
  end
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

--- Scroll so hunk `pos` is wholly on screen (when it fits) and put the cursor on it.
---@param review claw.Review
---@param pos integer
function M.show_hunk(review, pos)
  local win = window_of(review)
  if not win then
    return
  end
  if review.mode == 'inline' then
    inline.show_hunk(review, pos, win)
    return
  end
  local rows = review.rows[pos]
  vim.api.nvim_win_set_cursor(win, { rows.first + 1, 0 })
  local height = vim.api.nvim_win_get_height(win)
  vim.api.nvim_win_call(win, function()
    local top = vim.fn.line('w0')
    local bottom = vim.fn.line('w$')
    if rows.first + 1 < top or rows.last + 1 > bottom then
      local first = rows.last - rows.first + 1 <= height and rows.first + 1 or rows.first + 1
      vim.fn.winrestview({ topline = math.max(1, first - 1) })
    end
  end)
end

local function restore_maps(review)
  if review.mode ~= 'inline' or not vim.api.nvim_buf_is_valid(review.buf) then
    return
  end
  for _, lhs in pairs(review.mapped or {}) do
    pcall(vim.keymap.del, 'n', lhs, { buffer = review.buf })
  end
  for _, saved in ipairs(review.saved_maps or {}) do
    pcall(vim.fn.mapset, 'n', false, saved)
  end
end

---@param review claw.Review
local function close(review)
  M.pending[review.params.changeId or ''] = nil
  M.open_reviews[review.buf] = nil
  if review.mode == 'inline' then
    inline.clear(review.buf)
    restore_maps(review)
    return
  end
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

--- The feedback the answer carries: the whole change's, then each rejected hunk's.
---@param review claw.Review
---@return string?
local function feedback_text(review)
  local parts = {}
  if review.feedback then
    parts[#parts + 1] = review.feedback
  end
  local n = total(review)
  for pos = 1, n do
    local text = review.feedbacks[pos]
    if text then
      parts[#parts + 1] = n > 1 and ('Hunk %d: %s'):format(pos, text) or text
    end
  end
  return #parts > 0 and table.concat(parts, '\n') or nil
end

--- Answer the review with the current decisions (undecided hunks are rejected).
---@param review claw.Review
function M.finish(review)
  if review.finished then
    return
  end
  review.finished = true
  local indices = {}
  if review.mode == 'inline' then
    for pos, hunk in ipairs(review.inline) do
      indices[pos] = hunk.index
    end
  else
    for pos, hunk in ipairs(hunks_of(review.params)) do
      indices[pos] = hunk.index or (pos - 1)
    end
  end
  local accepted = {}
  for pos, index in ipairs(indices) do
    if review.decisions[pos] == true then
      accepted[#accepted + 1] = index
    end
  end
  local result
  if #accepted == #indices then
    result = { decision = 'accept' }
  elseif #accepted == 0 then
    result = { decision = 'reject' }
  else
    result = { decision = 'partial', acceptedHunks = accepted }
  end
  result.feedback = feedback_text(review)
  close(review)
  review.done(result)
end

--- Decide every undecided hunk (accept or reject) and finish.
---@param review claw.Review
---@param accept boolean
function M.decide_all(review, accept)
  for pos = 1, total(review) do
    if review.decisions[pos] == nil or review.mode ~= 'inline' then
      review.decisions[pos] = accept
    end
  end
  M.finish(review)
end

--- Decide hunk `pos` (default: the one under the cursor), move to the next undecided one with it
--- wholly on screen, finish when all are decided.
---@param review claw.Review
---@param accept boolean
---@param pos? integer
function M.decide(review, accept, pos)
  pos = pos or hunk_at_cursor(review)
  if not pos then
    return
  end
  review.decisions[pos] = accept
  local n = total(review)
  if vim.tbl_count(review.decisions) >= n then
    M.finish(review)
    return
  end
  redraw(review)
  for p = 1, n do
    local next_pos = (pos + p - 1) % n + 1
    if review.decisions[next_pos] == nil then
      M.show_hunk(review, next_pos)
      return
    end
  end
end

--- Reject hunk `pos` (default: under the cursor) with feedback asked for with |vim.ui.input|.
---@param review claw.Review
---@param pos? integer
function M.reject_with_feedback(review, pos)
  pos = pos or hunk_at_cursor(review)
  if not pos then
    return
  end
  vim.ui.input(
    { prompt = ('Claw: why reject change %d? '):format(pos), default = review.feedbacks[pos] },
    function(text)
      if text == nil or review.finished then
        return
      end
      review.feedbacks[pos] = text ~= '' and text or nil
      M.decide(review, false, pos)
    end
  )
end

--- Move to the next (`delta` 1) or previous (-1) hunk in buffer order.
---@param review claw.Review
---@param delta integer
function M.jump(review, delta)
  local win = window_of(review)
  if not win then
    return
  end
  local row = vim.api.nvim_win_get_cursor(win)[1] - 1
  local order = {}
  for pos, hunk in ipairs(review.inline) do
    order[#order + 1] = { pos = pos, first = inline.rows(review.buf, hunk) }
  end
  table.sort(order, function(a, b)
    return a.first < b.first
  end)
  local current
  for i, h in ipairs(order) do
    local first, last = inline.rows(review.buf, review.inline[h.pos])
    if row >= first and row <= last then
      current = i
    end
  end
  local pick
  if current then
    pick = order[(current - 1 + delta) % #order + 1]
  elseif delta > 0 then
    for _, h in ipairs(order) do
      if h.first > row then
        pick = pick or h
      end
    end
    pick = pick or order[1]
  else
    for _, h in ipairs(order) do
      if h.first < row then
        pick = h
      end
    end
    pick = pick or order[#order]
  end
  local target = pick and pick.pos
  if target then
    M.show_hunk(review, target)
  end
end

---@param review claw.Review
function M.ask_feedback(review)
  vim.ui.input({ prompt = 'Feedback for Claw: ', default = review.feedback }, function(text)
    if text ~= nil then
      review.feedback = text ~= '' and text or nil
      redraw(review)
    end
  end)
end

--- Show old and new text side by side in diff mode (a new tab): old on the left, new on the
--- right, as vimdiff shows them. `q` closes the tab.
---@param review claw.Review
function M.side_by_side(review)
  local p = review.params
  local ft = vim.filetype.match({ filename = vim.uri_to_fname(p.uri or 'file:///x') }) or ''
  vim.cmd('tabnew')
  local function scratch(text, name)
    local buf = vim.api.nvim_get_current_buf()
    vim.bo[buf].buftype = 'nofile'
    vim.bo[buf].bufhidden = 'wipe'
    local lines = vim.split((text or ''):gsub('\r\n', '\n'), '\n', { plain = true })
    if lines[#lines] == '' then
      lines[#lines] = nil
    end
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
    pcall(vim.api.nvim_buf_set_name, buf, ('claw://review/%s/%s'):format(p.changeId or '?', name))
    vim.bo[buf].filetype = ft
    vim.bo[buf].modifiable = false
    vim.cmd('diffthis')
    vim.keymap.set('n', 'q', '<cmd>tabclose<cr>', { buffer = buf, desc = 'Close the Claw diff' })
    return buf
  end
  local old = scratch(p.oldText, 'old')
  vim.cmd('rightbelow vnew')
  local new = scratch(p.newText, 'new')
  review.diff_bufs = { old = old, new = new }
end

---@param review claw.Review
local function set_buffer_keymaps(review)
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

---@param review claw.Review
local function set_inline_keymaps(review)
  local k = keys()
  review.saved_maps, review.mapped = {}, {}
  local actions = {
    accept = {
      'Claw review: accept this change',
      function()
        M.decide(review, true)
      end,
    },
    reject = {
      'Claw review: reject this change',
      function()
        M.decide(review, false)
      end,
    },
    feedback = {
      'Claw review: reject this change with feedback',
      function()
        M.reject_with_feedback(review)
      end,
    },
    accept_all = {
      'Claw review: accept every undecided change',
      function()
        M.decide_all(review, true)
      end,
    },
    reject_all = {
      'Claw review: reject every undecided change',
      function()
        M.decide_all(review, false)
      end,
    },
    next = {
      'Claw review: next change',
      function()
        M.jump(review, 1)
      end,
    },
    prev = {
      'Claw review: previous change',
      function()
        M.jump(review, -1)
      end,
    },
    diff = {
      'Claw review: split diff (old left, new right)',
      function()
        M.side_by_side(review)
      end,
    },
  }
  for name, action in pairs(actions) do
    local lhs = k[name]
    if lhs then
      local existing = vim.fn.maparg(lhs, 'n', false, true)
      if existing and existing.buffer == 1 then
        review.saved_maps[#review.saved_maps + 1] = existing
      end
      vim.keymap.set('n', lhs, action[2], { buffer = review.buf, silent = true, desc = action[1] })
      review.mapped[name] = lhs
    end
  end
end

--- The window an inline review shows its file in: one already showing it, else the current
--- window when it holds a normal buffer, else another window that does; nil when the user is
--- typing (never taken from under them: |:ClawReview| shows it).
---@param buf integer
---@return integer?
local function window_for(buf)
  local win = vim.fn.bufwinid(buf)
  if win ~= -1 then
    return win
  end
  local mode = vim.api.nvim_get_mode().mode
  if mode:sub(1, 1) == 'i' or mode:sub(1, 1) == 'R' then
    return nil
  end
  local current = vim.api.nvim_get_current_win()
  local candidates = { current }
  vim.list_extend(candidates, vim.api.nvim_tabpage_list_wins(0))
  for _, w in ipairs(candidates) do
    local b = vim.api.nvim_win_get_buf(w)
    if vim.bo[b].buftype == '' and vim.api.nvim_win_get_config(w).relative == '' then
      vim.api.nvim_win_set_buf(w, buf)
      return w
    end
  end
  vim.cmd('aboveleft split')
  vim.api.nvim_win_set_buf(0, buf)
  return vim.api.nvim_get_current_win()
end

--- Show a pending review (again): its file in a window, the first undecided hunk on screen.
---@param review claw.Review
function M.reveal(review)
  if review.mode ~= 'inline' then
    if review.win and vim.api.nvim_win_is_valid(review.win) then
      vim.api.nvim_set_current_win(review.win)
    end
    return
  end
  if not vim.api.nvim_buf_is_loaded(review.buf) then
    vim.fn.bufload(review.buf)
  end
  local win = window_for(review.buf)
  if not win then
    vim.notify(
      ('Claw: a change to %s waits for your review (:ClawReview)'):format(
        vim.fn.fnamemodify(vim.api.nvim_buf_get_name(review.buf), ':~:.')
      ),
      vim.log.levels.INFO
    )
    return
  end
  review.win = win
  redraw(review)
  for pos = 1, total(review) do
    if review.decisions[pos] == nil then
      M.show_hunk(review, pos)
      return
    end
  end
end

--- The file buffer an inline review is drawn in (loaded, not yet shown), or nil when the change
--- is not an edit of an existing file that Neovim can load.
---@param params table
---@return integer?
local function file_buffer(params)
  if params.kind ~= 'modify' or not params.uri or #(params.hunks or {}) == 0 then
    return nil
  end
  local fname = vim.uri_to_fname(params.uri)
  local buf = vim.fn.bufnr(fname)
  if buf == -1 then
    if vim.fn.filereadable(fname) ~= 1 then
      return nil
    end
    buf = vim.fn.bufadd(fname)
  end
  if not vim.api.nvim_buf_is_loaded(buf) then
    vim.fn.bufload(buf)
  end
  vim.bo[buf].buflisted = true
  return buf
end

--- A pending review, registered (newest last in arrival order).
---@return claw.Review
local function new_review(params, mode, buf, rows, done)
  seq = seq + 1
  ---@type claw.Review
  local review = {
    params = params,
    mode = mode,
    buf = buf,
    rows = rows,
    inline = {},
    decisions = {},
    feedbacks = {},
    saved_maps = {},
    done = done,
    finished = false,
    prev_win = vim.api.nvim_get_current_win(),
    seq = seq,
  }
  M.pending[params.changeId or tostring(buf)] = review
  M.open_reviews[buf] = review
  return review
end

---@param params table
---@param done fun(result: table)
---@return claw.Review?
local function show_inline(params, done)
  local buf = file_buffer(params)
  if not buf then
    return nil
  end
  local review = new_review(params, 'inline', buf, {}, done)
  review.inline = inline.anchor(buf, params)
  set_inline_keymaps(review)
  vim.api.nvim_create_autocmd('BufWipeout', {
    buffer = buf,
    once = true,
    callback = function()
      -- The buffer is gone: the review stays pending; :ClawReview loads the file again.
      if not review.finished then
        vim.schedule(function()
          if review.finished then
            return
          end
          local again = vim.fn.bufadd(vim.uri_to_fname(params.uri))
          vim.fn.bufload(again)
          M.open_reviews[buf] = nil
          review.buf = again
          review.inline = inline.anchor(again, params)
          M.open_reviews[again] = review
          set_inline_keymaps(review)
          redraw(review)
        end)
      end
    end,
  })
  M.reveal(review)
  redraw(review)
  return review
end

--- Build the review buffer (unified diff) and show it in a split or a tab.
---@param params table
---@param done fun(result: table)
---@return claw.Review
local function show_buffer(params, done)
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
    lines[#lines + 1] = hunk.header or ''
    for _, l in ipairs(vim.split(hunk.diff or '', '\n', { plain = true, trimempty = true })) do
      lines[#lines + 1] = l
    end
    rows[pos] = { first = first, last = #lines - 1 }
  end
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = 'diff'

  local review = new_review(params, 'buffer', buf, rows, done)
  set_buffer_keymaps(review)
  redraw(review)
  vim.api.nvim_create_autocmd('BufWipeout', {
    buffer = buf,
    once = true,
    callback = function()
      if not review.finished then
        review.finished = true
        M.pending[params.changeId or tostring(buf)] = nil
        M.open_reviews[buf] = nil
        done({ decision = 'reject', feedback = feedback_text(review) })
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

--- Show a review: inline in the file's buffer when the layout is 'inline' and the change is an
--- edit of an existing file, else in a review buffer.
---@param params table
---@param done fun(result: table)
---@return claw.Review
function M.show(params, done)
  local layout = (require('claw.config').options.review or {}).layout or 'inline'
  if layout == 'inline' then
    local review = show_inline(params, done)
    if review then
      return review
    end
  end
  return show_buffer(params, done)
end

--- `claw/review` request handler: shows the change and answers once the user has decided.
---@param params table
---@return table
function M.review(params)
  return async.await(function(done)
    M.show(params, done)
  end)
end

--- The pending review for a change id (or the most recent), for commands and tests.
---@param change_id? string
---@return claw.Review?
function M.get(change_id)
  if change_id then
    return M.pending[change_id]
  end
  local found
  for _, review in pairs(M.pending) do
    if not found or review.seq > found.seq then
      found = review
    end
  end
  return found
end

--- |:ClawReview|: show the pending review again (the most recent one), or say there is none.
function M.reopen()
  local review = M.get()
  if not review then
    vim.notify('Claw: no review is pending', vim.log.levels.INFO)
    return
  end
  M.reveal(review)
end

--- A run ended: its reviews can no longer be answered (the server stopped waiting).
---@param run_id string
function M.run_finished(run_id)
  for _, review in pairs(vim.tbl_values(M.pending)) do
    if review.params.runId == run_id and not review.finished then
      review.finished = true
      close(review)
    end
  end
end

return M
