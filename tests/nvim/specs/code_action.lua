-- The server's code actions are plain LSP code actions: picking `Claw: <instruction>` from
-- vim.lsp.buf.code_action() (what `gra` runs) starts a run that edits the buffer.
local T = require('claw_test')

T.run(function()
  T.write(
    T.ws .. '/app.py',
    'def average(xs):\n    # claw: return 0.0 for an empty list\n    return sum(xs) / len(xs)\n'
  )
  T.setup({
    { content = { T.tool('t1', 'Read', { file_path = '{{workspace}}/app.py' }) } },
    {
      content = {
        T.tool('t2', 'Edit', {
          file_path = '{{workspace}}/app.py',
          old_string = '    # claw: return 0.0 for an empty list\n    return sum(xs) / len(xs)',
          new_string = '    if not xs:\n        return 0.0\n    return sum(xs) / len(xs)',
        }),
      },
    },
    { content = { T.text('Handled the empty list.') }, stop_reason = 'end_turn' },
    { content = { T.text('Here is the docstring plan.') }, stop_reason = 'end_turn' },
  })
  local buf = T.open('app.py')
  vim.api.nvim_win_set_cursor(0, { 2, 6 })
  local seen = {}
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      seen[#seen + 1] = action.title
      return action.title == 'Claw: return 0.0 for an empty list'
    end,
  })
  T.wait(10, 'the edit from the code action', function()
    return T.lines(buf)[2] == '    if not xs:'
  end)
  T.check(
    11,
    'Ask Claw… offered too: ' .. vim.inspect(seen),
    vim.tbl_contains(seen, 'Ask Claw…')
  )
  T.wait_transcript(12, 'Handled the empty list.')
  T.eq(13, 'final text', {
    'def average(xs):',
    '    if not xs:',
    '        return 0.0',
    '    return sum(xs) / len(xs)',
  }, T.lines(buf))

  -- claw/saveDocuments writes the edited buffer.
  local uri = vim.uri_from_bufnr(buf)
  T.check(14, 'the edit is not on disk yet', vim.bo[buf].modified)
  local saved = require('claw.prompts').save_documents({ uris = { uri } })
  T.eq(15, 'saved uris', { uri }, saved.saved)
  T.check(16, 'disk has the edit', (T.read(T.ws .. '/app.py') or ''):find('if not xs:', 1, true))

  -- `Ask Claw…`: the server asks for the prompt with claw/input (vim.ui.input).
  local asked
  vim.ui.input = function(opts, on_confirm)
    asked = opts.prompt
    on_confirm('plan a docstring')
  end
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return action.title == 'Ask Claw…'
    end,
  })
  T.wait_transcript(17, 'Here is the docstring plan.')
  T.check(18, 'claw/input went through vim.ui.input', asked ~= nil)
  T.wait(19, 'both runs to finish', function()
    return T.finished_runs() >= 2
  end)
  T.done()
end)
