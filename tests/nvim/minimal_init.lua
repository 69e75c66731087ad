-- Minimal init for the headless Neovim tests: the plugin from this repository, nothing else.
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
local repo = vim.fn.fnamemodify(here, ':h:h')
vim.opt.runtimepath:prepend(repo .. '/editors/neovim')
vim.opt.runtimepath:append(here)
vim.o.swapfile = false
vim.o.shadafile = 'NONE'
vim.o.more = false
vim.g.claw_test_repo = repo
