-- A Bash tool call asks permission through vim.ui.select showing the exact command:
-- allowed once it runs; rejected (with feedback) it does not.
local T = require('claw_test')

T.run(function()
  T.write(T.ws .. '/app.py', 'print("hi")\n')
  T.setup({
    {
      content = {
        T.tool(
          't1',
          'Bash',
          { command = 'echo allowed > allowed.txt', description = 'write a file' }
        ),
      },
    },
    { content = { T.text('First done.') }, stop_reason = 'end_turn' },
    {
      content = {
        T.tool(
          't2',
          'Bash',
          { command = 'echo denied > denied.txt', description = 'write a file' }
        ),
      },
    },
    { content = { T.text('Second done.') }, stop_reason = 'end_turn' },
  }, { permissionMode = 'default' })
  T.open('app.py')

  local asked = {}
  local answer = 'allow_once'
  vim.ui.select = function(items, opts, on_choice)
    asked[#asked + 1] = opts.prompt
    for _, item in ipairs(items) do
      if item.kind == answer or item.optionId == answer then
        return on_choice(item, 1)
      end
    end
    on_choice(nil)
  end
  local inputs = 0
  vim.ui.input = function(_, on_confirm)
    inputs = inputs + 1
    on_confirm('not in this directory')
  end

  vim.cmd('ClawAsk run the script')
  T.wait_transcript(10, 'First done.')
  T.check(
    11,
    'prompt shows the exact command: ' .. vim.inspect(asked),
    (asked[1] or ''):find('echo allowed > allowed.txt', 1, true)
  )
  T.wait(12, 'allowed.txt', function()
    return vim.fn.filereadable(T.ws .. '/allowed.txt') == 1
  end, 5000)
  T.wait(13, 'the first run to finish', function()
    return T.finished_runs() >= 1
  end)

  answer = 'reject_once'
  vim.cmd('ClawAsk run it again')
  T.wait_transcript(14, 'Second done.')
  T.check(
    15,
    'second prompt shows the command',
    (asked[2] or ''):find('echo denied > denied.txt', 1, true)
  )
  T.eq(16, 'feedback asked once after the rejection', 1, inputs)
  T.check(17, 'denied.txt not created', vim.fn.filereadable(T.ws .. '/denied.txt') == 0)
  T.check(18, 'the rejected tool call shows as failed', T.transcript():find('- ✗ ', 1, true))
  T.check(
    19,
    'the refused call says denied:\n' .. T.transcript(),
    T.transcript():find('- ✗ `Running: echo denied > denied.txt` — denied', 1, true)
  )
  local prompt = asked[2] or ''
  local _, count = prompt:gsub('echo denied > denied%.txt', '')
  T.eq(20, 'the command is shown once, with the description: ' .. prompt, 1, count)
  T.check(21, "the model's description is shown", prompt:find('write a file', 1, true))
  T.done()
end)
