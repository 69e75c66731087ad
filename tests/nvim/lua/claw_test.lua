-- Helpers for the headless Neovim specs in tests/nvim/specs (run by tests/nvim/test_nvim.py).
-- A spec fails with `cquit N` (a distinct exit code per check) and prints why on stderr.
local T = {}

T.repo = vim.g.claw_test_repo
T.dir = assert(vim.env.CLAW_TEST_DIR, 'CLAW_TEST_DIR is not set')
T.ws = T.dir .. '/ws'

local function log(msg)
  io.stderr:write(msg .. '\n')
end
T.log = log

--- Dump what helps to debug a failure: transcript, messages, server log tail.
function T.dump()
  local ok, transcript = pcall(function()
    return require('claw.transcript').text()
  end)
  log('--- transcript ---\n' .. (ok and transcript or '?'))
  log('--- messages ---\n' .. vim.fn.execute('messages'))
  local lsp_log = vim.lsp.get_log_path and vim.lsp.get_log_path()
  if lsp_log and vim.fn.filereadable(lsp_log) == 1 then
    local lines = vim.fn.readfile(lsp_log)
    log(
      '--- lsp log (tail) ---\n'
        .. table.concat(vim.list_slice(lines, math.max(1, #lines - 60)), '\n')
    )
  end
end

--- Fail the spec with exit code `code`.
function T.fail(code, msg)
  log(('FAIL (%d): %s'):format(code, msg))
  T.dump()
  vim.cmd('cquit! ' .. code)
end

--- Wait for `cond` or fail with `code`.
function T.wait(code, what, cond, ms)
  local ok = vim.wait(ms or 20000, cond, 20)
  if not ok then
    T.fail(code, 'timed out waiting for ' .. what)
  end
end

function T.check(code, what, value)
  if not value then
    T.fail(code, what)
  end
end

function T.eq(code, what, want, got)
  if not vim.deep_equal(want, got) then
    T.fail(code, ('%s\n  want: %s\n  got:  %s'):format(what, vim.inspect(want), vim.inspect(got)))
  end
end

--- Write a file (lines joined with \n, trailing newline), creating directories.
function T.write(path, text)
  vim.fn.mkdir(vim.fn.fnamemodify(path, ':h'), 'p')
  local f = assert(io.open(path, 'wb'))
  f:write(text)
  f:close()
end

function T.read(path)
  local f = io.open(path, 'rb')
  if not f then
    return nil
  end
  local s = f:read('*a')
  f:close()
  return s
end

--- Write the scripted model's turns (JSONL) and return its path.
function T.script(turns)
  local lines = {}
  for _, turn in ipairs(turns) do
    lines[#lines + 1] = vim.json.encode(turn)
  end
  local path = T.dir .. '/turns.jsonl'
  T.write(path, table.concat(lines, '\n') .. '\n')
  return path
end

--- A tool_use block.
function T.tool(id, name, input)
  return { type = 'tool_use', id = id, name = name, input = input }
end

function T.text(s)
  return { type = 'text', text = s }
end

--- Replace {{workspace}} in every string of `value` (the fake API does not substitute it).
local function fill(value)
  if type(value) == 'string' then
    return (value:gsub('{{workspace}}', T.ws))
  elseif type(value) == 'table' then
    local out = {}
    for k, v in pairs(value) do
      out[k] = fill(v)
    end
    return out
  end
  return value
end

--- Queue the model's turns on the fake Messages API server (tests/fakes/fake_messages_api.py).
local function queue_fake_api(url, turns)
  local responses = {}
  for i, turn in ipairs(fill(turns)) do
    local r = vim.deepcopy(turn)
    if r.delay_ms then
      r.delay, r.delay_ms = r.delay_ms / 1000, nil
    end
    responses[i] = r
  end
  local post = 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1], '
    .. 'data=sys.stdin.buffer.read(), headers={"content-type": "application/json"}, '
    .. 'method="POST"), timeout=10).read()'
  local res = vim
    .system({ T.repo .. '/.venv/bin/python', '-c', post, url .. '/_fake/queue' }, {
      stdin = vim.json.encode(responses),
    })
    :wait(15000)
  assert(res.code == 0, 'queueing turns on the fake API failed: ' .. tostring(res.stderr))
end

--- Set up the plugin with the model's `turns` and `settings`: the fake Messages API server when
--- CLAW_TEST_FAKE_API is set (as under pytest), else the scripted provider.
function T.setup(turns, settings, opts)
  local base = { permissionMode = 'acceptEdits' }
  if vim.env.CLAW_TEST_FAKE_API then
    queue_fake_api(vim.env.CLAW_TEST_FAKE_API, turns)
    base.provider = 'anthropic'
  else
    base.provider = 'scripted'
    base.scriptPath = T.script(turns)
  end
  require('claw').setup(vim.tbl_deep_extend('force', {
    cmd = { T.repo .. '/.venv/bin/claw-lsp' },
    settings = vim.tbl_extend('force', base, settings or {}),
    transcript = { auto_open = true },
  }, opts or {}))
end

--- Open a workspace file and wait until the claw client is attached and initialized.
function T.open(rel, code)
  vim.cmd('cd ' .. vim.fn.fnameescape(T.ws))
  vim.cmd('edit ' .. vim.fn.fnameescape(T.ws .. '/' .. rel))
  local buf = vim.api.nvim_get_current_buf()
  T.wait(code or 90, 'the claw client to attach', function()
    local c = vim.lsp.get_clients({ name = 'claw', bufnr = buf })[1]
    return c ~= nil and c.initialized == true
  end, 30000)
  return buf, vim.lsp.get_clients({ name = 'claw', bufnr = buf })[1]
end

function T.lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

function T.transcript()
  return require('claw.transcript').text()
end

--- Wait for the transcript to contain `needle` (plain).
function T.wait_transcript(code, needle, ms)
  T.wait(code, 'transcript to contain ' .. vim.inspect(needle), function()
    return T.transcript():find(needle, 1, true) ~= nil
  end, ms)
end

--- Count of finished runs in the transcript.
function T.finished_runs()
  local n = 0
  for _ in T.transcript():gmatch('_run finished') do
    n = n + 1
  end
  return n
end

--- Stop the clients and quit with success.
function T.done()
  for _, c in ipairs(vim.lsp.get_clients()) do
    c:stop()
  end
  vim.wait(5000, function()
    return #vim.lsp.get_clients() == 0
  end, 20)
  if vim.env.CLAW_TEST_DUMP then
    T.dump()
  end
  log('PASS')
  vim.cmd('qall!')
end

--- Run a spec body; any Lua error fails with code 99.
function T.run(fn)
  local ok, err = xpcall(fn, debug.traceback)
  if not ok then
    T.fail(99, tostring(err))
  end
end

return T
