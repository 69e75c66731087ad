-- permissionMode default, the inline review (the default layout): a two-hunk change is drawn in
-- the file's own buffer (removed lines highlighted, added lines as virtual lines) and nothing in the
-- buffer changes until it is decided. The user types elsewhere meanwhile (the hunks move with the
-- text), moves with ]h (the whole hunk on screen), accepts hunk 1 with `ga` and rejects hunk 2 with
-- feedback (`gR`): only hunk 1 lands, the model gets the feedback, the transcript shows a partial
-- mark with the folded output. A second change: `gD` opens the split diff (old left, new right),
-- the user leaves the file, `:ClawReview` shows the review again, `gX` rejects it.
local T = require('claw_test')

local function keys(lhs)
  vim.api.nvim_feedkeys(vim.keycode(lhs), 'mx', false)
end

local function view_marks(buf)
  local ns = require('claw.inline').ns_view
  return vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })
end

local function virt_text(marks)
  local out = {}
  for _, m in ipairs(marks) do
    for _, vl in ipairs(m[4].virt_lines or {}) do
      local parts = {}
      for _, chunk in ipairs(vl) do
        parts[#parts + 1] = chunk[1]
      end
      out[#out + 1] = table.concat(parts)
    end
  end
  return out
end

--- Save the current screen as HTML (with the inline review's virtual lines) for a screenshot.
local function save_html(name)
  local dir = vim.env.CLAW_ARTIFACTS
  if not dir or dir == '' then
    return
  end
  vim.fn.mkdir(dir, 'p')
  local ok, lines = pcall(function()
    return require('tohtml').tohtml(0, { title = 'claw inline review (Neovim)' })
  end)
  if ok then
    vim.fn.writefile(lines, dir .. '/' .. name .. '.html')
  end
end

T.run(function()
  vim.o.columns, vim.o.lines = 120, 40
  local lines = {}
  for i = 1, 30 do
    lines[i] = ('line_%02d = %d'):format(i, i)
  end
  local original = table.concat(lines, '\n') .. '\n'
  T.write(T.ws .. '/my_data.py', original)
  local changed = vim.deepcopy(lines)
  changed[2] = 'line_02 = 200'
  table.insert(changed, 3, 'line_02b = 201')
  changed[26] = 'line_25 = 2500'
  T.setup({
    { content = { T.tool('t1', 'Read', { file_path = '{{workspace}}/my_data.py' }) } },
    {
      content = {
        T.tool('t2', 'Write', {
          file_path = '{{workspace}}/my_data.py',
          content = table.concat(changed, '\n') .. '\n',
        }),
      },
    },
    {
      content = {
        T.tool('t3', 'Edit', {
          file_path = '{{workspace}}/my_data.py',
          old_string = 'line_10 = 10',
          new_string = 'line_10 = 1000',
        }),
      },
    },
    { content = { T.text('Done.') }, stop_reason = 'end_turn' },
  }, { permissionMode = 'default' })
  local buf = T.open('my_data.py')
  vim.cmd('ClawAsk change lines 2 and 25')

  local review
  T.wait(10, 'an inline review', function()
    review = require('claw.review').get()
    return review ~= nil
  end)
  T.eq(11, 'drawn in the file buffer', { 'inline', buf }, { review.mode, review.buf })
  T.eq(12, 'two hunks', 2, #review.inline)
  T.eq(13, 'the buffer is unchanged while pending', lines, T.lines(buf))
  local shown = virt_text(view_marks(buf))
  T.check(
    14,
    'added lines are virtual lines: ' .. vim.inspect(shown),
    vim.tbl_contains(vim.tbl_map(vim.trim, shown), '+ line_02b = 201')
  )
  local deleted = {}
  for _, m in ipairs(view_marks(buf)) do
    if m[4].line_hl_group == 'ClawReviewDelete' then
      deleted[#deleted + 1] = m[2]
    end
  end
  T.eq(15, 'removed lines highlighted in place (rows)', { 1, 24 }, deleted)
  T.check(16, 'review keys are buffer-local', vim.fn.maparg('ga', 'n', false, true).buffer == 1)
  T.check(17, 'the header names the keys', table.concat(shown, '\n'):find('ga accept', 1, true))

  -- The user keeps typing above the change: the hunks move with the text.
  vim.api.nvim_buf_set_lines(buf, 0, 0, false, { '# the user typed this' })
  local first = require('claw.inline').rows(buf, review.inline[1])
  T.eq(18, 'hunk 1 moved down one line', 1, first)

  -- ]h from the top goes to hunk 1, then hunk 2, with the whole hunk on screen.
  vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  keys(']h')
  T.eq(19, ']h: cursor on hunk 1', 3, vim.api.nvim_win_get_cursor(0)[1])
  keys(']h')
  local h2_first, h2_last = require('claw.inline').rows(buf, review.inline[2])
  T.check(
    20,
    ('hunk 2 (%d-%d) wholly on screen (%d-%d)'):format(
      h2_first + 1,
      h2_last + 1,
      vim.fn.line('w0'),
      vim.fn.line('w$')
    ),
    vim.fn.line('w0') <= h2_first + 1 and vim.fn.line('w$') >= h2_last + 1
  )
  save_html('nvim-inline-review')
  keys('[h')
  keys('ga') -- accept hunk 1; hunk 2 comes on screen
  T.eq(21, 'hunk 1 accepted', true, review.decisions[1])
  T.eq(22, 'nothing applied before every hunk is decided', 'line_02 = 2', T.lines(buf)[3])
  vim.ui.input = function(_, on_confirm)
    on_confirm('keep 25 as it is')
  end
  keys('gR') -- reject hunk 2 with feedback: all decided, the review answers "partial"
  T.wait(23, 'the accepted hunk in the buffer', function()
    return T.lines(buf)[3] == 'line_02 = 200' and T.lines(buf)[4] == 'line_02b = 201'
  end)
  T.eq(24, 'the rejected hunk is not applied', 'line_25 = 25', T.lines(buf)[27])
  T.eq(25, "the user's line is kept", '# the user typed this', T.lines(buf)[1])

  -- The second change: the split diff, then :ClawReview after leaving the file, then gX.
  local second
  T.wait(26, 'a second review', function()
    second = require('claw.review').get()
    return second ~= nil and second ~= review
  end)
  T.check(27, 'the first review is answered', review.finished)
  vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
  keys('gD')
  local wins = vim.api.nvim_tabpage_list_wins(0)
  T.eq(28, 'the split diff has two windows', 2, #wins)
  local left = vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(wins[1]))
  local right = vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(wins[2]))
  T.check(
    29,
    'old on the left, new on the right: ' .. left .. ' | ' .. right,
    left:match('/old$') and right:match('/new$')
  )
  T.check(30, 'both in diff mode', vim.wo[wins[1]].diff and vim.wo[wins[2]].diff)
  keys('q')
  vim.cmd('enew')
  T.check(31, 'left the file', vim.api.nvim_get_current_buf() ~= buf)
  vim.cmd('ClawReview')
  T.eq(32, ':ClawReview shows the file again', buf, vim.api.nvim_get_current_buf())
  keys('gX')
  T.wait_transcript(33, '_run finished')
  T.eq(34, 'the rejected change is not applied', 'line_10 = 10', T.lines(buf)[12])
  T.eq(35, 'no review marks left', 0, #view_marks(buf))
  T.check(36, 'review keys gone', vim.fn.maparg('ga', 'n', false, true).buffer ~= 1)

  -- The transcript: a partial mark, the folded output with the feedback, a rejected change.
  local text = T.transcript()
  T.check(
    37,
    'partial mark:\n' .. text,
    text:find('◑ `Writing my_data.py` — partly applied: 1 hunk rejected', 1, true)
  )
  T.check(
    38,
    'the feedback sent is in the output',
    text:find('│ Their feedback: Hunk 2: keep 25 as it is', 1, true)
  )
  T.check(39, 'the diff that landed is in the output', text:find('│ +line_02b = 201', 1, true))
  T.check(
    40,
    'the rejected edit says so',
    text:find('`Editing my_data.py` — rejected', 1, true) or text:find('— rejected', 1, true)
  )
  -- Names with `_` are no markdown errors; the output is folded in the transcript's window.
  local tbuf = require('claw.transcript').buf()
  local tlines = T.lines(tbuf)
  local row, col
  for i, l in ipairs(tlines) do
    local c = l:find('my_data.py', 1, true)
    if c and l:find('Writing', 1, true) then
      row, col = i, c + 2 -- on the `_`
      break
    end
  end
  T.check(42, 'the tool line is in the transcript', row)
  local group = vim.api.nvim_buf_call(tbuf, function()
    return vim.fn.synIDattr(vim.fn.synID(row, col, 1), 'name')
  end)
  T.check(43, 'no markdown error on `_`: ' .. group, group ~= 'markdownError')
  local twin = vim.fn.bufwinid(tbuf)
  T.check(44, 'the transcript is shown', twin ~= -1)
  local closed = vim.api.nvim_win_call(twin, function()
    return vim.fn.foldclosed(row + 1)
  end)
  T.check(45, 'the tool output is folded', closed ~= -1)
  local found = false
  for _, f in ipairs(vim.fn.globpath(vim.env.XDG_STATE_HOME, 'claw/**/*.jsonl', false, true)) do
    if (T.read(f) or ''):find('keep 25 as it is', 1, true) then
      found = true
    end
  end
  T.check(41, 'the feedback reached the model (session JSONL)', found)
  T.done()
end)
