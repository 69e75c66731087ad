-- The three ways to start: vim.lsp.enable('claw') alone (lsp/claw.lua, defaults), and setup()
-- through vim.lsp.start autocmds (the Neovim 0.10 path). The client declares its claw/* features.
local T = require('claw_test')

local function wait_client(code, buf)
  T.wait(code, 'the claw client', function()
    local c = vim.lsp.get_clients({ name = 'claw', bufnr = buf })[1]
    return c ~= nil and c.initialized == true
  end, 30000)
  return vim.lsp.get_clients({ name = 'claw', bufnr = buf })[1]
end

local function stop_all()
  for _, c in ipairs(vim.lsp.get_clients()) do
    c:stop()
  end
  vim.wait(5000, function()
    return #vim.lsp.get_clients() == 0
  end, 20)
end

T.run(function()
  T.write(T.ws .. '/a.py', 'a = 1\n')
  T.write(T.ws .. '/notes.txt', 'plain text\n')
  T.write(T.ws .. '/pyproject.toml', '[project]\nname = "x"\n')
  vim.cmd('cd ' .. vim.fn.fnameescape(T.ws))

  -- 1. vim.lsp.enable alone, with lsp/claw.lua's defaults.
  vim.lsp.enable('claw')
  vim.cmd('edit a.py')
  local client = wait_client(10, 0)
  T.eq(11, 'declared client features', {
    event = true,
    input = true,
    permission = true,
    review = true,
    diagnostics = true,
    saveDocuments = true,
  }, client.config.init_options.clientFeatures)
  T.eq(
    12,
    'root dir from pyproject.toml',
    vim.uv.fs_realpath(T.ws),
    vim.uv.fs_realpath(client.root_dir)
  )
  T.check(
    13,
    'server cmd from the repo venv',
    client.config.cmd[1]:find('/.venv/bin/claw-lsp', 1, true)
  )
  -- every filetype: a text file gets the same client
  vim.cmd('edit notes.txt')
  T.eq(14, 'same client for a text buffer', client.id, wait_client(15, 0).id)
  -- not the transcript / scratch buffers
  require('claw.transcript').open({ focus = true })
  vim.wait(300)
  T.eq(16, 'no client on the transcript', 0, #vim.lsp.get_clients({ bufnr = 0 }))
  vim.cmd('only')
  vim.lsp.enable('claw', false)
  stop_all()

  -- 2. setup() through autocmds + vim.lsp.start (the 0.10 path), settings forwarded.
  require('claw').setup({
    start = 'autocmd',
    settings = { permissionMode = 'plan', maxTurns = 7 },
  })
  vim.cmd('edit! a.py')
  local c2 = wait_client(20, 0)
  T.eq(
    21,
    'settings forwarded as initializationOptions',
    'plan',
    c2.config.init_options.permissionMode
  )
  T.eq(22, 'features declared with settings', true, c2.config.init_options.clientFeatures.review)
  local status = c2:request_sync(
    'workspace/executeCommand',
    { command = 'claw.status', arguments = { vim.empty_dict() } },
    10000
  )
  T.eq(
    23,
    'the server uses the forwarded mode',
    'plan',
    status and status.result and status.result.permissionMode
  )

  -- claw.async outside a coroutine falls back to a vim.wait loop.
  local value = require('claw.async').await(function(done)
    vim.defer_fn(function()
      done(42)
    end, 30)
  end, 5000)
  T.eq(24, 'async fallback', 42, value)
  T.done()
end)
