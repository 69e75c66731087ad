---@brief The lazy.nvim `build` step of claw (see lazy.lua at the repository root): installs the
--- claw-lsp server from the plugin's checkout with `uv tool install`, else `pipx install`, else into
--- a virtualenv inside the plugin directory (`<plugin>/.venv`, which the plugin finds by itself),
--- generates doc/tags, and records the installed server in stdpath('state')/claw/build.json.
--- Works without lazy.nvim too: `:lua require('claw.build').run('/path/to/claw-lsp')`.
local M = {}

--- The file the build writes: { installer, server, command }.
---@return string
function M.record_path()
  return vim.fs.joinpath(vim.fn.stdpath('state'), 'claw', 'build.json')
end

--- The last build's record, nil when there was none (or it is unreadable).
---@return { installer: string, server: string, command: string }?
function M.record()
  local path = M.record_path()
  if vim.fn.filereadable(path) ~= 1 then
    return nil
  end
  local ok, data = pcall(vim.json.decode, table.concat(vim.fn.readfile(path), '\n'))
  return ok and type(data) == 'table' and data or nil
end

--- A Python 3.11+ on PATH (the newest first), nil when there is none.
---@return string?
function M.find_python()
  for _, name in ipairs({
    'python3.14',
    'python3.13',
    'python3.12',
    'python3.11',
    'python3',
    'python',
  }) do
    local exe = vim.fn.exepath(name)
    if exe ~= '' then
      local res = vim
        .system({ exe, '-c', 'import sys; print(sys.version_info >= (3, 11))' }, { text = true })
        :wait(10000)
      if res.code == 0 and vim.trim(res.stdout or '') == 'True' then
        return exe
      end
    end
  end
  return nil
end

--- The installer the build uses and the exact command lines it runs, for `root` (the checkout).
--- `health.lua` names the same commands as the fix when the server is missing.
---@param root string
---@return string? installer, string[][] commands, string? server
function M.plan(root)
  if vim.fn.executable('uv') == 1 then
    return 'uv', { { 'uv', 'tool', 'install', '--force', '--reinstall', root } }, nil
  end
  if vim.fn.executable('pipx') == 1 then
    return 'pipx', { { 'pipx', 'install', '--force', root } }, nil
  end
  local python = M.find_python()
  if not python then
    return nil, {}, nil
  end
  local venv = vim.fs.joinpath(root, '.venv')
  local pip = vim.fs.joinpath(venv, 'bin', 'python')
  return 'venv',
    {
      { python, '-m', 'venv', venv },
      { pip, '-m', 'pip', 'install', '--quiet', '--upgrade', root },
    },
    vim.fs.joinpath(venv, 'bin', 'claw-lsp')
end

--- One shell-ready line of `commands` (what health and the docs show).
---@param commands string[][]
---@return string
function M.shell_line(commands)
  local lines = {}
  for _, cmd in ipairs(commands) do
    lines[#lines + 1] = table.concat(
      vim.tbl_map(function(arg)
        return arg:match('^[%w%-_./=:@+,]+$') and arg or vim.fn.shellescape(arg)
      end, cmd),
      ' '
    )
  end
  return table.concat(lines, ' && ')
end

--- Run `cmd`, yielding to lazy.nvim's build runner (or waiting) until it exits.
---@param cmd string[]
---@return vim.SystemCompleted
local function run(cmd)
  local done ---@type vim.SystemCompleted?
  vim.system(cmd, { text = true }, function(res)
    done = res
  end)
  local co, main = coroutine.running()
  while not done do
    if co and not main and coroutine.isyieldable() then
      coroutine.yield()
    else
      vim.wait(50, function()
        return done ~= nil
      end)
    end
  end
  return done
end

--- Show progress the lazy.nvim way (a yielded message) or with vim.notify outside a build.
---@param msg string
local function progress(msg)
  local co, main = coroutine.running()
  if co and not main and coroutine.isyieldable() then
    coroutine.yield(msg)
  else
    vim.notify('claw build: ' .. msg, vim.log.levels.INFO)
  end
end

--- Where the installer put claw-lsp: on PATH (uv/pipx bin dirs), else the installer's bin dir.
---@param installer string
---@return string?
local function installed_server(installer)
  local exe = vim.fn.exepath('claw-lsp')
  if installer == 'uv' then
    local res = run({ 'uv', 'tool', 'dir', '--bin' })
    local candidate = vim.fs.joinpath(vim.trim(res.stdout or ''), 'claw-lsp')
    if res.code == 0 and vim.fn.executable(candidate) == 1 then
      return candidate
    end
  elseif installer == 'pipx' then
    local res = run({ 'pipx', 'environment', '--value', 'PIPX_BIN_DIR' })
    local candidate = vim.fs.joinpath(vim.trim(res.stdout or ''), 'claw-lsp')
    if res.code == 0 and vim.fn.executable(candidate) == 1 then
      return candidate
    end
  end
  return exe ~= '' and exe or nil
end

--- The build: doc/tags, then the server. Errors (lazy.nvim shows them) name what to do.
---@param root string the plugin's directory (the repository checkout)
---@return { installer: string, server: string, command: string }
function M.run(root)
  root = vim.fs.normalize(root)
  local doc = vim.fs.joinpath(root, 'editors', 'neovim', 'doc')
  vim.cmd.helptags(vim.fn.fnameescape(doc))
  local installer, commands, server = M.plan(root)
  if not installer then
    error(
      'claw: no uv, pipx or Python 3.11+ found to install the claw-lsp server. '
        .. 'Install uv (https://docs.astral.sh/uv/) or Python 3.11+, then run :Lazy build claw-lsp'
    )
  end
  for _, cmd in ipairs(commands) do
    progress(('installing the server: %s'):format(table.concat(cmd, ' ')))
    local res = run(cmd)
    if res.code ~= 0 then
      local out = vim.trim((res.stderr or '') .. '\n' .. (res.stdout or ''))
      error(('claw: `%s` failed (exit %d):\n%s'):format(table.concat(cmd, ' '), res.code, out))
    end
  end
  server = server or installed_server(installer)
  if not server or vim.fn.executable(server) ~= 1 then
    error(('claw: %s installed the server but claw-lsp was not found'):format(installer))
  end
  local check = run({ server, '--version' })
  if check.code ~= 0 then
    error(('claw: %s --version failed: %s'):format(server, check.stderr or ''))
  end
  local record = { installer = installer, server = server, command = M.shell_line(commands) }
  vim.fn.mkdir(vim.fs.dirname(M.record_path()), 'p')
  vim.fn.writefile({ vim.json.encode(record) }, M.record_path())
  progress(('installed %s (%s)'):format(vim.trim(check.stdout or ''), server))
  return record
end

--- The server the last build installed, as a `cmd` for setup(), when it is still there.
---@return string[]?
function M.server_cmd()
  local record = M.record()
  if record and type(record.server) == 'string' and vim.fn.executable(record.server) == 1 then
    return { record.server }
  end
  return nil
end

return M
