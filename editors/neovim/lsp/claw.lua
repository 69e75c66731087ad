--- claw-lsp for Neovim 0.11+: `vim.lsp.enable('claw')`. Options come from
--- `require('claw').setup(opts)` when it ran, the defaults otherwise; override
--- any field with `vim.lsp.config('claw', {...})`.
---@type vim.lsp.Config
return require('claw.config').lsp_config()
