-- Driven by tests/nvim/test_lazy_spec.py in a real headless Neovim with a clean XDG_DATA_HOME:
-- loads lazy.lua from the plugin's directory (a copy of the checkout where lazy.nvim clones it) and
-- runs its `build` and `config` the way lazy.nvim does, then reports what a user would see.
-- $CLAW_LAZY_STEPS: comma-separated steps among health_before, build, config, open, health.
local out = { steps = {} }
local dir = assert(vim.env.CLAW_PLUGIN_DIR)
local steps = vim.split(assert(vim.env.CLAW_LAZY_STEPS), ',')

local function health()
  vim.cmd('checkhealth claw')
  local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  vim.cmd('bwipeout!')
  return text
end

local ok, err = pcall(function()
  local spec = dofile(vim.fs.joinpath(dir, 'lazy.lua'))
  out.spec = { name = spec[1], main = spec.main, lazy = spec.lazy }
  -- What lazy.nvim hands build and config: the spec merged into a LazyPlugin with its dir.
  local plugin = vim.tbl_extend('force', {}, spec, { dir = dir, name = spec.name })
  -- lazy.nvim puts the plugin's own directory on 'runtimepath' before anything runs.
  vim.opt.runtimepath:append(dir)
  for _, step in ipairs(steps) do
    out.steps[#out.steps + 1] = step
    if step == 'health_before' then
      vim.opt.runtimepath:append(vim.fs.joinpath(dir, 'editors', 'neovim'))
      out.health_before = health()
    elseif step == 'build' then
      -- lazy.nvim's build runner: the function in a coroutine, resumed on each tick until it
      -- ends; a yielded string is a progress message.
      local co = coroutine.create(spec.build)
      local messages = {}
      local resumed, msg = coroutine.resume(co, plugin)
      while resumed and coroutine.status(co) ~= 'dead' do
        if type(msg) == 'string' then
          messages[#messages + 1] = msg
        end
        vim.wait(20)
        resumed, msg = coroutine.resume(co)
      end
      if not resumed then
        error('build failed: ' .. tostring(msg))
      end
      out.build_messages = messages
      local record = vim.fs.joinpath(vim.fn.stdpath('state'), 'claw', 'build.json')
      out.record = vim.json.decode(table.concat(vim.fn.readfile(record), '\n'))
    elseif step == 'config' then
      spec.config(plugin, { settings = { provider = 'scripted' } })
      out.rtp = vim.opt.runtimepath:get()
      out.has_command = vim.fn.exists(':ClawAsk') == 2
      out.tags = vim.fn.filereadable(vim.fs.joinpath(dir, 'editors', 'neovim', 'doc', 'tags')) == 1
      out.help = pcall(vim.cmd.help, 'claw')
      if out.help then
        out.help_file = vim.fn.expand('%:t')
        vim.cmd('helpclose')
      end
      out.server_cmd = require('claw.config').server_cmd()
    elseif step == 'open' then
      vim.cmd.edit(vim.fn.fnameescape(vim.fs.joinpath(assert(vim.env.CLAW_PROJECT), 'main.py')))
      out.attached = vim.wait(60000, function()
        local client = vim.lsp.get_clients({ name = 'claw' })[1]
        return client ~= nil and client.initialized == true
      end, 50)
      local client = vim.lsp.get_clients({ name = 'claw' })[1]
      out.server_info = client and client.server_info
      out.client_cmd = client and client.config.cmd
    elseif step == 'health' then
      out.health = health()
    end
  end
end)
out.error = not ok and tostring(err) or nil
vim.fn.writefile({ vim.json.encode(out) }, assert(vim.env.CLAW_RESULT))
vim.cmd('qa!')
