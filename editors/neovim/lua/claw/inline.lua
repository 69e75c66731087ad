---@brief The inline presentation of a review: the proposed change drawn in the file's own buffer.
---
--- Nothing in the buffer changes until the user accepts: the lines the change removes are
--- highlighted where they are (|hl-ClawReviewDelete|, a `-` sign) and the lines it adds are shown
--- as virtual lines where they would go (|hl-ClawReviewAdd|), under a header line per hunk
--- (|hl-ClawReviewHeader|) naming the keys. Each hunk is tracked by an extmark, so the user may keep
--- editing elsewhere in the buffer and the hunks move with the text.
local M = {}

M.ns_anchor = vim.api.nvim_create_namespace('claw_review_anchor')
M.ns_view = vim.api.nvim_create_namespace('claw_review_view')

vim.api.nvim_set_hl(0, 'ClawReviewAdd', { link = 'DiffAdd', default = true })
vim.api.nvim_set_hl(0, 'ClawReviewDelete', { link = 'DiffDelete', default = true })
vim.api.nvim_set_hl(0, 'ClawReviewHeader', { link = 'DiffText', default = true })
vim.api.nvim_set_hl(0, 'ClawReviewAccepted', { link = 'DiagnosticOk', default = true })
vim.api.nvim_set_hl(0, 'ClawReviewRejected', { link = 'DiagnosticError', default = true })

---@class claw.InlineHunk
---@field index integer the server's hunk index
---@field header string
---@field ops {kind: ' '|'-'|'+', text: string}[]
---@field anchor integer extmark id (ns_anchor) spanning the hunk's old lines

--- The ops of a unified-diff hunk body (`\ No newline` lines dropped, CR stripped).
---@param diff string
---@return {kind: string, text: string}[]
function M.parse_ops(diff)
  local ops = {}
  local lines = vim.split(diff or '', '\n', { plain = true })
  if lines[#lines] == '' then
    lines[#lines] = nil
  end
  for _, line in ipairs(lines) do
    local kind = line:sub(1, 1)
    if kind == ' ' or kind == '-' or kind == '+' then
      ops[#ops + 1] = { kind = kind, text = (line:sub(2):gsub('\r$', '')) }
    elseif kind == '' then
      ops[#ops + 1] = { kind = ' ', text = '' }
    end
  end
  return ops
end

--- Map 1-based line numbers of `old` to the buffer's current lines (the user may have typed since
--- the agent read the file): unchanged stretches shift, changed ones map to their start.
---@param old string
---@param current string
---@return fun(line: integer): integer
function M.line_map(old, current)
  if old == current then
    return function(line)
      return line
    end
  end
  local ok, hunks = pcall(vim.diff, old, current, { result_type = 'indices' })
  if not ok or type(hunks) ~= 'table' then
    return function(line)
      return line
    end
  end
  return function(line)
    local offset = 0
    for _, h in ipairs(hunks) do
      local a_start, a_count, b_start, b_count = h[1], h[2], h[3], h[4]
      local a_first = a_count == 0 and a_start + 1 or a_start
      if line < a_first then
        break
      end
      if a_count > 0 and line < a_start + a_count then
        return b_start
      end
      offset = offset + (b_count - a_count)
    end
    return line + offset
  end
end

local function buffer_text(buf)
  local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
  if vim.bo[buf].eol and text ~= '' then
    text = text .. '\n'
  end
  return text
end

--- Place the anchors of every hunk in `buf`.
---@param buf integer
---@param params table the claw/review params
---@return claw.InlineHunk[]
function M.anchor(buf, params)
  local old = (params.oldText or ''):gsub('\r\n', '\n')
  local map = M.line_map(old, buffer_text(buf))
  local count = vim.api.nvim_buf_line_count(buf)
  local hunks = {}
  for pos, h in ipairs(params.hunks or {}) do
    local old_lines = h.oldLines or 0
    -- A hunk with no old lines inserts after line oldStart; otherwise it starts at oldStart.
    local first = old_lines == 0 and (h.oldStart or 0) + 1 or (h.oldStart or 1)
    local row = math.max(0, math.min(map(first) - 1, count))
    local end_row = math.max(row, math.min(row + math.max(old_lines, 1) - 1, count - 1))
    local anchor = vim.api.nvim_buf_set_extmark(buf, M.ns_anchor, math.min(row, count - 1), 0, {
      end_row = end_row,
      end_col = 0,
      right_gravity = true,
      end_right_gravity = true,
    })
    hunks[pos] = {
      index = h.index or (pos - 1),
      header = h.header or '',
      ops = M.parse_ops(h.diff),
      anchor = anchor,
      at_end = row >= count,
    }
  end
  return hunks
end

--- The 0-based first and last rows of a hunk's old lines, as the buffer is now.
---@param buf integer
---@param hunk claw.InlineHunk
---@return integer first, integer last
function M.rows(buf, hunk)
  local mark = vim.api.nvim_buf_get_extmark_by_id(buf, M.ns_anchor, hunk.anchor, { details = true })
  local first = mark[1] or 0
  local last = (mark[3] and mark[3].end_row) or first
  if hunk.at_end then
    first = vim.api.nvim_buf_line_count(buf)
    last = first
  end
  return first, math.max(first, last)
end

local function expand(text, buf)
  local ts = vim.bo[buf].tabstop
  return (text:gsub('\t', string.rep(' ', ts > 0 and ts or 8)))
end

local function padded(text, width)
  local w = vim.fn.strdisplaywidth(text)
  return w < width and text .. string.rep(' ', width - w) or text
end

--- The header line of a hunk: its number, state and keys.
---@param pos integer
---@param total integer
---@param decision boolean?
---@param feedback string?
---@param keys table
---@return table[] virt_text chunks
local function header_chunks(pos, total, decision, feedback, keys)
  local chunks = { { (' Claw change %d/%d '):format(pos, total), 'ClawReviewHeader' } }
  if decision == true then
    chunks[#chunks + 1] = { ' ✓ accepted ', 'ClawReviewAccepted' }
  elseif decision == false then
    chunks[#chunks + 1] = { ' ✗ rejected ', 'ClawReviewRejected' }
    if feedback then
      chunks[#chunks + 1] = { ' feedback: ' .. feedback, 'Comment' }
    end
  else
    local hints = {}
    for _, item in ipairs({
      { 'accept', 'accept' },
      { 'reject', 'reject' },
      { 'feedback', 'reject with feedback' },
      { 'accept_all', 'accept all' },
      { 'reject_all', 'reject all' },
      { 'next', 'next' },
      { 'prev', 'previous' },
      { 'diff', 'diff' },
    }) do
      if type(keys[item[1]]) == 'string' then -- a key set to false is not mapped, nor shown
        hints[#hints + 1] = keys[item[1]] .. ' ' .. item[2]
      end
    end
    chunks[#chunks + 1] = { '  ' .. table.concat(hints, ' · '), 'Comment' }
  end
  return chunks
end

--- Draw every hunk of a review in its buffer (clears what was drawn before).
---@param review table claw.Review with .buf, .inline (hunks), .decisions, .feedbacks
---@param keys table the key names shown in headers
function M.draw(review, keys)
  local buf = review.buf
  vim.api.nvim_buf_clear_namespace(buf, M.ns_view, 0, -1)
  local count = vim.api.nvim_buf_line_count(buf)
  local width = math.max(20, vim.o.columns - 8)
  local total = #review.inline
  for pos, hunk in ipairs(review.inline) do
    local decision = review.decisions[pos]
    local row = M.rows(buf, hunk)
    local above = { header_chunks(pos, total, decision, review.feedbacks[pos], keys) }
    local function place(at, lines)
      if #lines == 0 then
        return
      end
      if at < count then
        vim.api.nvim_buf_set_extmark(
          buf,
          M.ns_view,
          at,
          0,
          { virt_lines = lines, virt_lines_above = true }
        )
      else
        vim.api.nvim_buf_set_extmark(
          buf,
          M.ns_view,
          math.max(0, count - 1),
          0,
          { virt_lines = lines }
        )
      end
    end
    if decision == false then
      place(row, above)
    else
      local adds = above
      local r = row
      for _, op in ipairs(hunk.ops) do
        if op.kind == '+' then
          adds[#adds + 1] = { { padded('+ ' .. expand(op.text, buf), width), 'ClawReviewAdd' } }
        else
          place(r, adds)
          adds = {}
          if op.kind == '-' and r < count then
            local text = vim.api.nvim_buf_get_lines(buf, r, r + 1, false)[1] or ''
            vim.api.nvim_buf_set_extmark(buf, M.ns_view, r, 0, {
              line_hl_group = 'ClawReviewDelete',
              hl_group = 'ClawReviewDelete', -- also the text itself (`:TOhtml` shows this one)
              end_row = r,
              end_col = #text,
              hl_eol = true,
              sign_text = '-',
              sign_hl_group = 'ClawReviewDelete',
              priority = 200,
            })
          end
          r = r + 1
        end
      end
      place(r, adds)
    end
  end
end

--- How many virtual lines a hunk draws above row `row` (its header, and added lines there).
---@param review table
---@param pos integer
---@return integer
function M.lines_above(review, pos)
  local hunk = review.inline[pos]
  local n = 1
  if review.decisions[pos] ~= false then
    for _, op in ipairs(hunk.ops) do
      if op.kind ~= '+' then
        break
      end
      n = n + 1
    end
  end
  return n
end

--- Move the cursor to a hunk and scroll so the whole hunk (header and added lines included) is on
--- screen when it fits in the window, else its top.
---@param review table
---@param pos integer
---@param win integer
function M.show_hunk(review, pos, win)
  local buf = review.buf
  local hunk = review.inline[pos]
  local first, last = M.rows(buf, hunk)
  local count = vim.api.nvim_buf_line_count(buf)
  local adds = 0
  for _, op in ipairs(hunk.ops) do
    if op.kind == '+' then
      adds = adds + 1
    end
  end
  -- The first changed row, for the cursor.
  local r = first
  for _, op in ipairs(hunk.ops) do
    if op.kind ~= ' ' then
      break
    end
    r = r + 1
  end
  local cursor = math.min(math.max(r, 0), count - 1)
  vim.api.nvim_win_set_cursor(win, { cursor + 1, 0 })
  local height = vim.api.nvim_win_get_height(win)
  local needed = (math.min(last, count - 1) - math.min(first, count - 1) + 1) + adds + 1
  local view = vim.fn.winsaveview()
  local top = math.min(first, count - 1) + 1
  local bottom = math.min(last, count - 1) + 1
  local visible_top = view.topline
  local visible_bottom = vim.fn.line('w$', win)
  if needed <= height and top > visible_top and bottom + adds < visible_bottom then
    return -- already wholly on screen
  end
  vim.api.nvim_win_call(win, function()
    vim.fn.winrestview({
      topline = top,
      topfill = first < count and M.lines_above(review, pos) or 0,
    })
  end)
end

--- The hunk under (or nearest after) the cursor row.
---@param review table
---@param row integer 0-based
---@return integer? pos
function M.hunk_at(review, row)
  local best, best_row
  for pos, hunk in ipairs(review.inline) do
    local first, last = M.rows(review.buf, hunk)
    if row >= first - 1 and row <= last then
      return pos
    end
    if first > row and (not best_row or first < best_row) then
      best, best_row = pos, first
    end
  end
  if best then
    return best
  end
  -- After the last hunk: the last one.
  return #review.inline > 0 and #review.inline or nil
end

--- Remove everything drawn for a review.
---@param buf integer
function M.clear(buf)
  if vim.api.nvim_buf_is_valid(buf) then
    vim.api.nvim_buf_clear_namespace(buf, M.ns_view, 0, -1)
    vim.api.nvim_buf_clear_namespace(buf, M.ns_anchor, 0, -1)
  end
end

return M
