-- :ClawAsk with a prompt: the agent's edit lands in the buffer; multibyte text stays intact.
local T = require('claw_test')

T.run(function()
  T.write(
    T.ws .. '/app.py',
    table.concat({
      '# Café ☕ 😀: mean of a list',
      'def average(xs):',
      '    return sum(xs) / len(xs) + 1  # naïve',
      '',
    }, '\n')
  )
  T.setup({
    {
      content = {
        T.text('Let me read the file.'),
        T.tool('t0', 'TodoWrite', {
          todos = {
            { content = 'Read app.py', status = 'in_progress', activeForm = 'Reading app.py' },
            { content = 'Fix average', status = 'pending', activeForm = 'Fixing average' },
          },
        }),
        T.tool('t1', 'Read', { file_path = '{{workspace}}/app.py' }),
      },
    },
    {
      content = {
        T.tool('t2', 'Edit', {
          file_path = '{{workspace}}/app.py',
          old_string = 'len(xs) + 1  # naïve',
          new_string = 'len(xs)  # naïve, ünïcode ✓',
        }),
      },
    },
    {
      content = {
        T.tool('t3', 'TodoWrite', {
          todos = {
            { content = 'Read app.py', status = 'completed', activeForm = 'Reading app.py' },
            { content = 'Fix average', status = 'completed', activeForm = 'Fixing average' },
          },
        }),
      },
    },
    { content = { T.text('Fixed the off-by-one in `average`.') }, stop_reason = 'end_turn' },
  })
  local buf = T.open('app.py')
  vim.cmd('ClawAsk fix the bug in average')
  T.wait(10, 'the edit in the buffer', function()
    return T.lines(buf)[3] == '    return sum(xs) / len(xs)  # naïve, ünïcode ✓'
  end)
  T.eq(11, 'multibyte first line intact', '# Café ☕ 😀: mean of a list', T.lines(buf)[1])
  T.eq(12, 'line count', 3, #T.lines(buf))
  T.wait_transcript(13, 'Fixed the off-by-one')
  T.wait_transcript(14, '_run finished')
  local text = T.transcript()
  T.check(15, 'transcript shows the prompt', text:find('fix the bug in average', 1, true))
  T.check(16, 'transcript shows a completed tool call', text:find('- ✓ ', 1, true))
  -- The plan is one checklist, updated in place.
  T.check(18, 'plan checklist done', text:find('- [x] Read app.py\n- [x] Fix average', 1, true))
  T.eq(19, 'one plan block', 1, select(2, text:gsub('%*%*Plan%*%*', '')))
  -- The edit is in the editor's undo history.
  vim.api.nvim_buf_call(buf, function()
    vim.cmd('silent undo')
  end)
  T.eq(
    17,
    'undo restores the original line',
    '    return sum(xs) / len(xs) + 1  # naïve',
    T.lines(buf)[3]
  )
  T.done()
end)
