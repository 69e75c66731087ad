--- User commands of claw.nvim. Everything is required lazily, on first use.
if vim.g.loaded_claw then
  return
end
vim.g.loaded_claw = true

local function claw()
  return require('claw')
end

local command = vim.api.nvim_create_user_command

command('ClawAsk', function(cmd)
  claw().ask_command(cmd)
end, {
  nargs = '*',
  range = true,
  complete = function(arglead, cmdline)
    return require('claw.commands').complete(arglead, cmdline)
  end,
  desc = 'Ask Claw about the range or buffer (/name for a slash command)',
})
command('ClawFix', function()
  claw().fix()
end, { desc = 'Ask Claw to fix the diagnostic under the cursor' })
command('ClawCancel', function()
  claw().cancel()
end, { desc = 'Cancel the running Claw runs' })
command('ClawSessions', function()
  claw().sessions()
end, { desc = 'Pick a Claw session to resume' })
command('ClawNew', function()
  claw().new_session()
end, { desc = 'Start a new Claw session' })
command('ClawStatus', function()
  claw().status()
end, { desc = 'Show the model, mode, usage and cost' })
command('ClawTrust', function(cmd)
  claw().trust(cmd.args)
end, {
  nargs = '?',
  complete = function()
    return { 'trust', 'revoke', 'forget', 'status' }
  end,
  desc = "Trust this workspace's own Claw settings (or revoke, forget, status)",
})
command('ClawReview', function()
  require('claw.review').reopen()
end, { desc = 'Show the pending Claw review again' })
command('ClawChat', function()
  claw().chat()
end, { desc = 'Open the Claw transcript' })

vim.api.nvim_create_autocmd('LspProgress', {
  group = vim.api.nvim_create_augroup('claw_progress', { clear = true }),
  callback = function(ev)
    local client = ev.data and vim.lsp.get_client_by_id(ev.data.client_id)
    if client and client.name == 'claw' then
      claw().on_progress(ev)
    end
  end,
})
