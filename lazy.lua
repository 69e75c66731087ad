-- The lazy.nvim spec of claw. lazy.nvim reads this file from the plugin's root by itself, so a
-- user's spec needs only the name (and opts): { 'claw-lsp/claw-lsp', opts = { ... } }.
-- The Neovim plugin lives in editors/neovim: `config` adds it to 'runtimepath' and sources its
-- plugin/ files; `build` installs the claw-lsp server (uv tool install, else pipx install, else a
-- virtualenv in the plugin directory) and generates doc/tags (editors/neovim/lua/claw/build.lua).

---@param plugin { dir: string }
---@return string
local function nvim_dir(plugin)
  return vim.fs.joinpath(plugin.dir, 'editors', 'neovim')
end

return {
  'claw-lsp/claw-lsp',
  name = 'claw-lsp',
  main = 'claw',
  lazy = false,
  opts = {},
  build = function(plugin)
    dofile(vim.fs.joinpath(nvim_dir(plugin), 'lua', 'claw', 'build.lua')).run(plugin.dir)
  end,
  config = function(plugin, opts)
    local dir = nvim_dir(plugin)
    if not vim.tbl_contains(vim.opt.runtimepath:get(), dir) then
      vim.opt.runtimepath:append(dir)
    end
    -- lazy.nvim sources plugin/ of the plugin's root only: the subdirectory's own, once.
    for _, file in ipairs(vim.fn.glob(vim.fs.joinpath(dir, 'plugin', '*.{lua,vim}'), false, true)) do
      vim.cmd.source(vim.fn.fnameescape(file))
    end
    opts = vim.deepcopy(opts or {})
    opts.cmd = opts.cmd or require('claw.build').server_cmd()
    require('claw').setup(opts)
  end,
}
