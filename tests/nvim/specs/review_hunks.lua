-- permissionMode default, review.layout 'split' (the unified-diff review buffer): claw/review shows
-- the change hunk by hunk; accepting the first hunk and rejecting the second applies only the
-- first. A second change is rejected whole with feedback. (The inline review: review_inline.lua.)
local T = require('claw_test')

T.run(function()
  local lines = {}
  for i = 1, 20 do
    lines[i] = ('line_%02d = %d  # ü'):format(i, i)
  end
  local original = table.concat(lines, '\n') .. '\n'
  T.write(T.ws .. '/data.py', original)
  local changed = vim.deepcopy(lines)
  changed[2] = 'line_02 = 200  # ü ✓'
  changed[18] = 'line_18 = 1800  # ü ✗'
  T.setup({
    { content = { T.tool('t1', 'Read', { file_path = '{{workspace}}/data.py' }) } },
    {
      content = {
        T.tool('t2', 'Write', {
          file_path = '{{workspace}}/data.py',
          content = table.concat(changed, '\n') .. '\n',
        }),
      },
    },
    {
      content = {
        T.tool('t3', 'Edit', {
          file_path = '{{workspace}}/data.py',
          old_string = 'line_10 = 10',
          new_string = 'line_10 = 1000',
        }),
      },
    },
    { content = { T.text('Done.') }, stop_reason = 'end_turn' },
  }, { permissionMode = 'default' }, { review = { layout = 'split' } })
  local buf = T.open('data.py')
  vim.cmd('ClawAsk change lines 2 and 18')

  local review
  T.wait(10, 'a review buffer', function()
    review = require('claw.review').get()
    return review ~= nil
  end)
  T.eq(11, 'two hunks', 2, vim.tbl_count(review.rows))
  T.check(
    12,
    'diff shows the new line',
    vim.tbl_contains(T.lines(review.buf), '+line_02 = 200  # ü ✓')
  )
  -- The hunk labels are text, so a search finds them.
  T.check(
    19,
    'hunk labels are text',
    vim.fn.search('hunk 2/2', 'nw') > 0
      or vim.api.nvim_buf_call(review.buf, function()
          return vim.fn.search('hunk 2/2', 'nw')
        end)
        > 0
  )
  vim.api.nvim_set_current_win(review.win)
  vim.api.nvim_win_set_cursor(review.win, { review.rows[1].first + 2, 0 })
  vim.cmd('normal a') -- accept hunk 1, cursor moves to hunk 2
  vim.cmd('normal r') -- reject hunk 2: all decided, the review answers "partial"
  T.wait(13, 'the accepted hunk in the buffer', function()
    return T.lines(buf)[2] == 'line_02 = 200  # ü ✓'
  end)
  T.eq(14, 'rejected hunk not applied', 'line_18 = 18  # ü', T.lines(buf)[18])

  -- The second change: reject all with feedback.
  local second
  T.wait(15, 'a second review', function()
    second = require('claw.review').get()
    return second ~= nil and second ~= review
  end)
  vim.ui.input = function(_, on_confirm)
    on_confirm('keep line 10 as it is')
  end
  vim.api.nvim_set_current_win(second.win)
  vim.cmd('normal f')
  vim.cmd('normal R')
  T.wait_transcript(16, '_run finished')
  T.eq(17, 'rejected change not applied', 'line_10 = 10  # ü', T.lines(buf)[10])
  local found = false
  for _, f in ipairs(vim.fn.globpath(vim.env.XDG_STATE_HOME, 'claw/**/*.jsonl', false, true)) do
    if (T.read(f) or ''):find('keep line 10 as it is', 1, true) then
      found = true
    end
  end
  T.check(18, 'the feedback reached the model (session JSONL)', found)
  T.done()
end)
