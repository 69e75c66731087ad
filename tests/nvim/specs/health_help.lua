-- :checkhealth claw reports the server and its version, the provider and Neovim; :help claw works
-- from the shipped doc/tags.
local T = require('claw_test')

T.run(function()
  require('claw').setup({
    cmd = { T.repo .. '/.venv/bin/claw-lsp' },
    settings = { provider = 'scripted', scriptPath = T.dir .. '/none.jsonl' },
  })
  vim.cmd('checkhealth claw')
  local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  T.check(
    10,
    'health shows the server version:\n' .. text,
    text:find('server version: claw%-lsp %d')
  )
  T.check(11, 'health shows the Neovim version', text:find('Neovim 0%.%d+'))
  T.check(12, 'health shows the provider', text:find('provider: scripted', 1, true))
  T.check(
    13,
    'health warns about the missing script',
    text:find('without a readable scriptPath', 1, true)
  )
  T.check(
    14,
    'no Lua error in health',
    not text:find('Traceback', 1, true) and not text:find('E5108', 1, true)
  )
  vim.cmd('bwipeout!')

  -- :help works with the README's set-up alone (editors/neovim on 'runtimepath'): the repository
  -- ships doc/tags, and it is what :helptags makes of doc/claw.txt now.
  local shipped = T.repo .. '/editors/neovim/doc'
  T.check(19, 'doc/tags is shipped', vim.fn.filereadable(shipped .. '/tags') == 1)
  local doc = T.dir .. '/rtp/doc'
  vim.fn.mkdir(doc, 'p')
  vim.fn.writefile(vim.fn.readfile(shipped .. '/claw.txt'), doc .. '/claw.txt')
  vim.cmd('helptags ' .. vim.fn.fnameescape(doc))
  T.eq(
    21,
    'doc/tags is current (run :helptags editors/neovim/doc)',
    vim.fn.readfile(doc .. '/tags'),
    vim.fn.readfile(shipped .. '/tags')
  )
  vim.opt.runtimepath:prepend(T.repo .. '/editors/neovim')
  for _, tag in ipairs({
    'claw',
    'claw.setup()',
    ':ClawAsk',
    ':ClawFix',
    ':ClawReview',
    'claw-review',
    'claw-review-keys',
    'claw-transcript',
  }) do
    local ok, err = pcall(vim.cmd, 'help ' .. tag)
    T.check(20, ':help ' .. tag .. ' failed: ' .. tostring(err), ok and vim.bo.filetype == 'help')
    vim.cmd('helpclose')
  end
  T.done()
end)
