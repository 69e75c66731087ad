-- A subagent (the Agent tool) edits a file: its tool calls show nested under the Agent call in the
-- transcript, its edit lands in the buffer, and only the parent's words are the answer.
local T = require('claw_test')

T.run(function()
  T.write(T.ws .. '/limits.py', 'limit = 10\n')
  local path = T.ws .. '/limits.py'
  T.setup({
    {
      content = {
        T.tool('toolu_agent', 'Agent', {
          description = 'raise the limit',
          prompt = 'Set limit to 20 in limits.py',
          subagent_type = 'general-purpose',
        }),
      },
      stop_reason = 'tool_use',
    },
    {
      content = {
        T.text('Subagent reading.'),
        T.tool('toolu_sub_read', 'Read', { file_path = path }),
      },
      stop_reason = 'tool_use',
    },
    {
      content = {
        T.tool(
          'toolu_sub_edit',
          'Edit',
          { file_path = path, old_string = 'limit = 10', new_string = 'limit = 20' }
        ),
      },
      stop_reason = 'tool_use',
    },
    { content = { T.text('Changed the limit to 20.') }, stop_reason = 'end_turn' },
    { content = { T.text('Parent answer: the limit is now 20.') }, stop_reason = 'end_turn' },
  })
  local buf = T.open('limits.py')
  vim.cmd('ClawAsk raise the limit')
  T.wait(10, 'the run to finish', function()
    return T.finished_runs() >= 1
  end, 20000)
  T.wait(11, 'the edit in the buffer', function()
    return T.lines(buf)[1] == 'limit = 20'
  end, 5000)
  local text = T.transcript()
  T.check(
    12,
    'the Agent call at the top level',
    text:find('\n- ✓ `general-purpose: raise the limit`', 1, true)
  )
  T.check(
    13,
    "the subagent's Read nested under it",
    text:find('\n  - ✓ `Reading limits.py', 1, true)
  )
  T.check(
    14,
    "the subagent's Edit nested under it",
    text:find('\n  - ✓ `Editing limits.py', 1, true)
  )
  T.check(15, "the parent's answer", text:find('Parent answer: the limit is now 20.', 1, true))
  T.done()
end)
