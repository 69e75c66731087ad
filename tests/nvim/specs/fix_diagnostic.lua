-- :ClawFix sends the diagnostic under the cursor (set by another "language server": a test
-- namespace); the server words the prompt from it and the fix lands in the buffer. The same
-- diagnostic is offered as a `Fix with Claw:` code action, and claw/diagnostics reports it.
local T = require('claw_test')

T.run(function()
  T.write(T.ws .. '/app.py', 'x = "é😀"\ndef average(xs):\n    return sum(xs) / len(xs) + 1\n')
  T.setup({
    { content = { T.tool('t1', 'Read', { file_path = '{{workspace}}/app.py' }) } },
    {
      content = {
        T.tool('t2', 'Edit', {
          file_path = '{{workspace}}/app.py',
          old_string = 'len(xs) + 1',
          new_string = 'len(xs)',
        }),
      },
    },
    { content = { T.text('Removed the stray + 1.') }, stop_reason = 'end_turn' },
  })
  local buf, client = T.open('app.py')
  local ns = vim.api.nvim_create_namespace('fake_linter')
  vim.diagnostic.set(ns, buf, {
    {
      lnum = 2,
      col = 11,
      end_lnum = 2,
      end_col = 32,
      severity = vim.diagnostic.severity.WARN,
      message = 'average is off by one',
      source = 'fakelint',
    },
  })

  -- `gra` (vim.lsp.buf.code_action) lists a quickfix for it: Neovim puts only the claw client's
  -- own diagnostics in the context, the plugin adds the other sources' ones.
  vim.api.nvim_win_set_cursor(0, { 3, 12 })
  local titles = {}
  vim.lsp.buf.code_action({
    filter = function(action)
      titles[#titles + 1] = action.title
      return false
    end,
  })
  T.wait(21, 'a Fix with Claw action', function()
    return vim.tbl_contains(titles, 'Fix with Claw: average is off by one')
  end, 10000)

  -- claw/diagnostics as the server sees it, converted with the negotiated encoding.
  local diag = require('claw.diagnostics').handle(
    { uris = { vim.uri_from_bufnr(buf) } },
    { client_id = client.id }
  )
  T.eq(22, 'claw/diagnostics range', {
    start = { line = 2, character = 11 },
    ['end'] = { line = 2, character = 32 },
  }, diag.items[1].diagnostics[1].range)

  vim.cmd('ClawFix')
  T.wait(10, 'the fix in the buffer', function()
    return T.lines(buf)[3] == '    return sum(xs) / len(xs)'
  end)
  T.eq(11, 'multibyte line intact', 'x = "é😀"', T.lines(buf)[1])
  T.wait_transcript(12, '_run finished')
  T.check(
    13,
    'transcript labels the fix',
    T.transcript():find('Fix: average is off by one', 1, true)
  )
  -- The session transcript on disk holds the prompt the server built from the diagnostic.
  local found = false
  for _, f in ipairs(vim.fn.globpath(vim.env.XDG_STATE_HOME, 'claw/**/*.jsonl', false, true)) do
    if (T.read(f) or ''):find('average is off by one', 1, true) then
      found = true
    end
  end
  T.check(14, 'the diagnostic reached the model prompt (session JSONL)', found)
  T.done()
end)
