-- :ClawCancel stops a streaming run; the transcript says it was cancelled.
local T = require('claw_test')

T.run(function()
  T.write(T.ws .. '/app.py', 'print("hi")\n')
  local long = string.rep('This is a long and slow answer. ', 200)
  T.setup({ { content = { T.text(long) }, stop_reason = 'end_turn', delay_ms = 50 } })
  T.open('app.py')
  vim.cmd('ClawAsk explain everything')
  T.wait_transcript(10, 'This is a long')
  -- LspProgress feeds the statusline component while the run goes on.
  T.wait(14, 'statusline progress', function()
    return require('claw').statusline():find('Claw', 1, true) ~= nil
  end, 5000)
  vim.cmd('ClawCancel')
  T.wait(11, 'the run to finish', function()
    return T.finished_runs() >= 1
  end, 10000)
  local text = T.transcript()
  T.check(12, 'finished as cancelled', text:find('_run finished: cancel', 1, true))
  T.check(13, 'not the whole answer', select(2, text:gsub('long and slow', '')) < 200)
  T.wait(15, 'statusline cleared after the run', function()
    return require('claw').statusline() == ''
  end, 5000)
  T.done()
end)
