-- :ClawSessions lists sessions and resumes the picked one; :ClawNew starts a new one;
-- a follow-up from the transcript goes to the resumed session.
local T = require('claw_test')

T.run(function()
  T.write(T.ws .. '/app.py', 'print("hi")\n')
  T.setup({
    { content = { T.text('First answer.') }, stop_reason = 'end_turn' },
    { content = { T.text('Second answer.') }, stop_reason = 'end_turn' },
  }, nil, { transcript = { layout = 'float' } })
  local _, client = T.open('app.py')
  vim.cmd('ClawAsk remember the word pineapple')
  T.wait_transcript(10, 'First answer.')
  T.wait(11, 'the first run to finish', function()
    return T.finished_runs() >= 1
  end)
  local first = require('claw').state.session_id
  T.check(12, 'a session id', first)

  vim.cmd('ClawNew')
  T.wait(13, 'a new session', function()
    local id = require('claw').state.session_id
    return id ~= nil and id ~= first
  end)

  local listed
  vim.ui.select = function(items, _, on_choice)
    listed = items
    for i, s in ipairs(items) do
      if s.sessionId == first then
        return on_choice(s, i)
      end
    end
    on_choice(nil)
  end
  vim.cmd('ClawSessions')
  T.wait(14, 'the session list', function()
    return listed ~= nil
  end)
  T.wait(15, 'the resumed session', function()
    return require('claw').state.session_id == first
  end)
  local status = client:request_sync(
    'workspace/executeCommand',
    { command = 'claw.status', arguments = { vim.empty_dict() } },
    10000
  )
  T.eq(
    16,
    'claw.status names the resumed session',
    first,
    status and status.result and status.result.sessionId
  )

  -- A follow-up from the transcript (its <CR> opens vim.ui.input) continues that session.
  vim.ui.input = function(_, on_confirm)
    on_confirm('what was the word?')
  end
  require('claw.transcript').follow_up()
  T.wait_transcript(17, 'Second answer.')
  local win = vim.fn.bufwinid(require('claw.transcript').buf())
  T.check(
    19,
    'the transcript is a float',
    win ~= -1 and vim.api.nvim_win_get_config(win).relative ~= ''
  )
  T.eq(18, 'the follow-up ran in the resumed session', first, require('claw').state.session_id)
  T.done()
end)
