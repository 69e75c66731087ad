-- Helpers for the pynvim-driven Neovim tests (tests/nvim/harness.py): one embedded Neovim runs the
-- plugin and the real claw-lsp server for many scenarios; Python calls these through exec_lua.
-- Besides driving the plugin, it records what went over the wire (workspace/applyEdit requests the
-- client got and the didChange notifications it sent) so a failure can show them.
local H = {}

H.finished = {} ---@type table<string, table> run id -> the run_finished update
H.apply_edits = {} ---@type table[] workspace/applyEdit params received, in order
H.did_change = {} ---@type table[] {uri, version, text} didChange notifications sent, in order
H.typed = {} ---@type table[] markers inserted by the simulated user

local group = vim.api.nvim_create_augroup('claw_harness', { clear = true })
vim.api.nvim_create_autocmd('User', {
  group = group,
  pattern = 'ClawEvent',
  callback = function(ev)
    local params = ev.data or {}
    local update = params.update or {}
    if update.sessionUpdate == 'run_finished' and params.runId then
      H.finished[params.runId] = update
    end
    if update.sessionUpdate == 'tool_call_update' and update.status == 'completed' then
      local start = H.on_tool_done
      H.on_tool_done = nil
      if start then
        start()
      end
    end
  end,
})

-- Options a scenario sets on the next buffer it opens, before the LSP client sees the buffer: this
-- autocmd is created before the plugin's vim.lsp.enable one, so it runs first.
H.pending_setlocal = nil ---@type string[]?
vim.api.nvim_create_autocmd('FileType', {
  group = group,
  callback = function(ev)
    if H.pending_setlocal and vim.bo[ev.buf].buftype == '' then
      vim.api.nvim_buf_call(ev.buf, function()
        for _, cmd in ipairs(H.pending_setlocal) do
          vim.cmd('setlocal ' .. cmd)
        end
      end)
      H.pending_setlocal = nil
    end
  end,
})

local orig_apply = vim.lsp.handlers['workspace/applyEdit']
local function ms()
  return math.floor(vim.uv.hrtime() / 1e6)
end

vim.lsp.handlers['workspace/applyEdit'] = function(err, params, ctx, config)
  local record = vim.deepcopy(params)
  record.at_ms = ms()
  for _, dc in ipairs((params.edit or {}).documentChanges or {}) do
    if dc.textDocument and dc.textDocument.uri then
      local b = vim.uri_to_bufnr(dc.textDocument.uri)
      record.buffer_version = vim.lsp.util.buf_versions[b]
    end
  end
  H.apply_edits[#H.apply_edits + 1] = record
  local result = orig_apply(err, params, ctx, config)
  record.answer = result
  return result
end

--- Start the plugin against the fake Messages API at `url`; settings go to initializationOptions
--- (permissionMode comes from the workspace's .claw/settings.json).
function H.setup(repo, url, settings, debounce)
  require('claw').setup({
    cmd = { repo .. '/.venv/bin/claw-lsp' },
    cmd_env = { ANTHROPIC_BASE_URL = url, ANTHROPIC_API_KEY = 'sk-ant-test-key' },
    settings = vim.tbl_extend('force', { provider = 'anthropic' }, settings or {}),
    -- The workspace is the folder holding .claw/settings.json, whatever files lie below it (corpus
    -- files include pyproject.toml, which would make each its own root and server).
    root_markers = { '.claw' },
    transcript = { auto_open = false },
    progress_echo = false,
  })
  if type(debounce) == 'number' then
    vim.lsp.config('claw', { flags = { debounce_text_changes = debounce } })
  end
end

local function wrap_notify(client)
  if client._harness_wrapped then
    return
  end
  client._harness_wrapped = true
  local notify = client.notify
  client.notify = function(self, method, params)
    if method == 'textDocument/didChange' then
      local changes = params.contentChanges or {}
      H.did_change[#H.did_change + 1] = {
        at_ms = ms(),
        uri = params.textDocument.uri,
        version = params.textDocument.version,
        changes = vim.deepcopy(changes),
      }
    end
    return notify(self, method, params)
  end
end

--- The claw client attached to `buf`, once initialized.
function H.client(buf)
  local c = vim.lsp.get_clients({ name = 'claw', bufnr = buf })[1]
  if c and c.initialized then
    wrap_notify(c)
    return c
  end
end

--- Edit `path` (after running `pre` Ex commands, e.g. ++ff=dos) and wait for the client.
---@return integer bufnr
function H.open(path, opts)
  opts = opts or {}
  H.pending_setlocal = opts.setlocal and #opts.setlocal > 0 and opts.setlocal or nil
  vim.cmd('edit! ' .. (opts.ff and ('++ff=' .. opts.ff .. ' ') or '') .. vim.fn.fnameescape(path))
  local buf = vim.api.nvim_get_current_buf()
  if vim.bo[buf].filetype == '' then
    -- vim.lsp.enable attaches on FileType: a file Neovim has no filetype for (CHANGES, PKG-INFO)
    -- gets none, so give it 'text' as a user would.
    vim.bo[buf].filetype = 'text'
  end
  assert(H.pending_setlocal == nil, 'the FileType autocmd did not run for ' .. path)
  local ok = vim.wait(30000, function()
    return H.client(buf) ~= nil
  end, 20)
  assert(ok, 'the claw client did not attach to ' .. path)
  -- Let the didOpen go out before anything else happens.
  vim.wait(50)
  return buf
end

--- Close every file buffer (so the next scenario opens a fresh one).
function H.close_all()
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_valid(b) and vim.bo[b].buftype == '' then
      pcall(vim.api.nvim_buf_delete, b, { force = true })
    end
  end
end

local function exec(buf, command, args)
  local client =
    assert(H.client(buf) or vim.lsp.get_clients({ name = 'claw' })[1], 'no claw client')
  local res = client:request_sync(
    'workspace/executeCommand',
    { command = command, arguments = { args } },
    10000,
    buf
  )
  assert(res and not res.err, command .. ' failed: ' .. vim.inspect(res))
  return res.result
end

--- Start a run in a fresh session about `buf`; returns the run id.
function H.ask(buf, prompt)
  exec(buf, 'claw.sessions.new', {})
  local result = exec(buf, 'claw.ask', { uri = vim.uri_from_bufnr(buf), prompt = prompt })
  assert(
    type(result) == 'table' and result.runId,
    'claw.ask gave no run id: ' .. vim.inspect(result)
  )
  return result.runId
end

--- Cancel run `id`.
function H.cancel(buf, id)
  exec(buf, 'claw.cancel', { runId = id })
end

--- Wait (processing events) until run `id` finished; returns the run_finished update or nil.
function H.wait_run(id, ms)
  vim.wait(ms or 30000, function()
    return H.finished[id] ~= nil
  end, 10)
  return H.finished[id]
end

--- What the buffer holds: lines, options, and the text Neovim's LSP client sends for it.
function H.state(buf)
  return {
    lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false),
    eol = vim.bo[buf].eol,
    fixeol = vim.bo[buf].fixeol,
    fileformat = vim.bo[buf].fileformat,
    modified = vim.bo[buf].modified,
    text = vim.lsp._buf_get_full_text(buf),
    changedtick = vim.api.nvim_buf_get_changedtick(buf),
  }
end

--- Loaded / modified buffers for `path` (a file Neovim must not have touched).
function H.buffer_of(path)
  local nr = vim.fn.bufnr(path)
  local modified = {}
  for _, info in ipairs(vim.fn.getbufinfo({ bufmodified = 1 })) do
    if vim.bo[info.bufnr].buftype == '' then
      modified[#modified + 1] = info.name
    end
  end
  local loaded = nr ~= -1 and vim.fn.bufloaded(nr) == 1
  local text = nil
  if loaded then
    text = table.concat(vim.api.nvim_buf_get_lines(nr, 0, -1, true), '\n')
      .. (vim.bo[nr].eol and '\n' or '')
  end
  return { bufnr = nr, loaded = loaded, modified = modified, text = text }
end

--- Reset the wire records; returns how many there were.
function H.typed_markers()
  return H.typed
end

function H.reset_records()
  local n = #H.apply_edits + #H.did_change
  H.apply_edits, H.did_change, H.typed = {}, {}, {}
  return n
end

function H.records()
  return { apply_edits = H.apply_edits, did_change = H.did_change }
end

-- The simulated user --------------------------------------------------------------------------

--- Insert `marker` at a random byte boundary on a random line of `buf` through the API (a real
--- buffer change: Neovim's change tracking sends the didChange); returns {row, col}.
--- `rows` (0-based) limits where it types.
function H.type_marker(buf, marker, rows)
  local count = vim.api.nvim_buf_line_count(buf)
  local row
  if rows and #rows > 0 then
    row = math.min(rows[math.random(1, #rows)], count - 1)
  else
    row = math.random(0, count - 1)
  end
  local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ''
  -- A column on a character boundary.
  local cols = { 0 }
  local chars = vim.str_utf_pos(line)
  for _, p in ipairs(chars) do
    cols[#cols + 1] = p - 1
  end
  cols[#cols + 1] = #line
  local col = cols[math.random(1, #cols)]
  vim.api.nvim_buf_set_text(buf, row, col, row, col, { marker })
  H.typed[#H.typed + 1] = { marker = marker, row = row, col = col, at_ms = ms() }
  return { row, col }
end

--- Type markers into `buf` at random times (each after `0..max_ms`) while a run goes on: `n`
--- markers `⟪<prefix><i>⟫`, on `rows` (0-based) when given; returns the time of the last one
--- (ms from now) at once: the timers do the typing.
function H.type_during(buf, prefix, n, max_ms, seed, rows)
  if rows == vim.NIL then
    rows = nil
  end
  math.randomseed(seed or 0)
  local delays = {}
  local t = 0
  for i = 1, n do
    t = t + math.random(0, max_ms)
    delays[i] = t
  end
  for i = 1, n do
    vim.defer_fn(function()
      if vim.api.nvim_buf_is_valid(buf) then
        H.type_marker(buf, ('⟪%s%d⟫'):format(prefix, i), rows)
      end
    end, delays[i])
  end
  return delays[n] or 0
end

--- Like type_during, but the typing starts once the run's first tool call (the Read) completed, so
--- the model read the text without the user's markers.
function H.type_after_first_tool(buf, prefix, n, max_ms, seed, rows)
  H.on_tool_done = function()
    H.type_during(buf, prefix, n, max_ms, seed, rows)
  end
end

return H
