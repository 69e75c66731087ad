-- :ClawStatus and :ClawSessions read as text: model and mode, tokens and cost with separators,
-- relative times and the session titled by the prompt (not the context sent along), no raw JSON
-- or ISO stamps. :ClawNew starts a clean transcript.
local T = require('claw_test')

T.run(function()
  T.write(T.ws .. '/app.py', 'print("hi")\n')
  T.setup({
    { content = { T.text('It prints hi.') }, stop_reason = 'end_turn' },
  })
  T.open('app.py')
  vim.cmd('ClawAsk what does this print?')
  T.wait_transcript(10, '_run finished')

  local notes = {}
  local notify = vim.notify
  vim.notify = function(msg, ...)
    notes[#notes + 1] = msg
    return notify(msg, ...)
  end
  vim.cmd('ClawStatus')
  T.wait(11, 'the status', function()
    for _, n in ipairs(notes) do
      if n:find('this session:', 1, true) then
        return true
      end
    end
  end)
  local status
  for _, n in ipairs(notes) do
    if n:find('this session:', 1, true) then
      status = n
    end
  end
  T.check(12, 'status names model and mode:\n' .. status, status:find('mode', 1, true))
  T.check(13, 'tokens and cost:\n' .. status, status:find('tokens in · %d+ out · %$%d+%.%d+'))
  T.check(
    14,
    'no raw JSON:\n' .. status,
    not status:find('{', 1, true) and not status:find('_tokens', 1, true)
  )

  local shown
  vim.ui.select = function(items, opts, on_choice)
    shown = {}
    for _, item in ipairs(items) do
      shown[#shown + 1] = opts.format_item(item)
    end
    on_choice(nil)
  end
  vim.cmd('ClawSessions')
  T.wait(15, 'the session list', function()
    return shown ~= nil
  end)
  local line = shown[1]
  T.check(16, 'titled by the prompt: ' .. line, line:find('what does this print?', 1, true))
  T.check(
    17,
    'a relative time, no ISO stamp: ' .. line,
    line:find('just now', 1, true) and not line:find('T%d%d:')
  )
  T.check(18, 'not the injected context: ' .. line, not line:find('looking at', 1, true))

  vim.cmd('ClawNew')
  T.wait(19, 'a clean transcript', function()
    return not T.transcript():find('It prints hi.', 1, true)
  end)
  T.done()
end)
