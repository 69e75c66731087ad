#!/usr/bin/env bash
# `make demo` in Neovim: open a copy of examples/sample_project in Neovim 0.11 (.venv/bin/nvim) with
# the plugin from editors/neovim, run the tests, show the failure as a diagnostic, and pick the
# server's "Fix with Claw: ..." code action; the transcript streams the agent fixing the bug.
#
# Model: the real one when ANTHROPIC_API_KEY is set, else the scripted turns in
# examples/demo_turns.jsonl. The screen says which.
# With a terminal: interactive, you stay in Neovim afterwards (:qa! to leave).
# With CI=true or without a terminal: headless; prints stats.py before and after and exits 0 only
# if the bug was fixed (and the tests pass).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
nvim="$repo/.venv/bin/nvim"
[[ -x "$nvim" ]] || { echo "demo: $nvim is missing (run: make setup)" >&2; exit 2; }
[[ -x "$repo/.venv/bin/claw-lsp" ]] || { echo "demo: .venv/bin/claw-lsp is missing (run: make setup)" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
project="$tmp/sample_project"
cp -r "$repo/examples/sample_project" "$project"
for d in state data config cache; do mkdir -p "$tmp/xdg/$d"; done
export XDG_STATE_HOME="$tmp/xdg/state" XDG_DATA_HOME="$tmp/xdg/data"
export XDG_CONFIG_HOME="$tmp/xdg/config" XDG_CACHE_HOME="$tmp/xdg/cache"

if [[ -n "${ANTHROPIC_API_KEY:-}" ]]; then
  export CLAW_DEMO_MODEL="real model (ANTHROPIC_API_KEY is set)"
  export CLAW_DEMO_SCRIPT=""
else
  export CLAW_DEMO_MODEL="scripted model (examples/demo_turns.jsonl; set ANTHROPIC_API_KEY for the real one)"
  export CLAW_DEMO_SCRIPT="$repo/examples/demo_turns.jsonl"
fi
export CLAW_DEMO_REPO="$repo"

headless=0
if [[ "${CI:-}" == "true" || ! -t 0 || ! -t 1 ]]; then
  headless=1
fi
export CLAW_DEMO_HEADLESS="$headless"

cat >"$tmp/demo_init.lua" <<'LUA'
-- The demo's Neovim config: the plugin from this repository and a scripted walk-through.
local repo = vim.env.CLAW_DEMO_REPO
local headless = vim.env.CLAW_DEMO_HEADLESS == '1'
vim.opt.runtimepath:prepend(repo .. '/editors/neovim')
vim.o.swapfile = false
vim.o.termguicolors = true
vim.o.laststatus = 3
vim.o.statusline = ' %f %m%=%{v:lua.require("claw").statusline()} '

local settings = {}
if vim.env.CLAW_DEMO_SCRIPT ~= '' then
  settings = { provider = 'scripted', scriptPath = vim.env.CLAW_DEMO_SCRIPT }
end
require('claw').setup({
  settings = settings,
  transcript = { layout = 'vsplit', size = 70 },
  progress_echo = not headless,
})

local function say(msg)
  if headless then
    io.stdout:write('demo: ' .. msg .. '\n')
  else
    vim.api.nvim_echo({ { 'claw demo: ', 'Title' }, { msg } }, true, {})
  end
end

local function file_text(path)
  return table.concat(vim.fn.readfile(path), '\n')
end

local function finish(code)
  for _, c in ipairs(vim.lsp.get_clients()) do
    c:stop()
  end
  vim.wait(3000, function()
    return #vim.lsp.get_clients() == 0
  end, 20)
  vim.cmd(code == 0 and 'qall!' or ('cquit! ' .. code))
end

--- Run the tests; on failure put the assertion on the buggy line as a diagnostic
--- (the "test runner" stands in for a language server or linter here).
local function show_test_failure(buf)
  local res = vim.system({ 'python3', '-m', 'unittest', '-q', 'test_stats' }, { text = true }):wait()
  if res.code == 0 then
    return nil
  end
  local out = (res.stderr or '') .. (res.stdout or '')
  local assertion = out:match('AssertionError: ([^\n]+)') or 'tests fail'
  local lnum = 0
  for i, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if line:find('return sum(values)', 1, true) then
      lnum = i - 1
    end
  end
  local line = vim.api.nvim_buf_get_lines(buf, lnum, lnum + 1, false)[1]
  local message = 'test_average fails: ' .. assertion
  vim.diagnostic.set(vim.api.nvim_create_namespace('demo_tests'), buf, {
    {
      lnum = lnum,
      col = #line:match('^%s*'),
      end_col = #line,
      severity = vim.diagnostic.severity.ERROR,
      message = message,
      source = 'unittest',
    },
  })
  vim.api.nvim_win_set_cursor(0, { lnum + 1, #line:match('^%s*') })
  return message
end

local function run_demo()
  local buf = vim.api.nvim_get_current_buf()
  local path = vim.api.nvim_buf_get_name(buf)
  say('model: ' .. vim.env.CLAW_DEMO_MODEL)
  if not headless then
    vim.wo.winbar = '%#Title# claw demo %* model: ' .. vim.env.CLAW_DEMO_MODEL
  end
  if headless then
    io.stdout:write('---- stats.py before ----\n' .. file_text(path) .. '\n')
  end
  local ok = vim.wait(30000, function()
    local c = vim.lsp.get_clients({ name = 'claw', bufnr = buf })[1]
    return c ~= nil and c.initialized
  end, 50)
  if not ok then
    say('the claw-lsp server did not start (see :checkhealth claw)')
    return headless and finish(3)
  end
  local message = show_test_failure(buf)
  if not message then
    say('the tests already pass: nothing to fix')
    return headless and finish(4)
  end
  say('tests fail -> diagnostic "' .. message .. '"; picking the code action "Fix with Claw: ..."')
  vim.defer_fn(function()
    vim.lsp.buf.code_action({
      apply = true,
      filter = function(action)
        return vim.startswith(action.title, 'Fix with Claw:')
      end,
    })
  end, headless and 0 or 1500)

  local finished = false
  vim.api.nvim_create_autocmd('User', {
    pattern = 'ClawEvent',
    callback = function(ev)
      local update = ev.data and ev.data.update or {}
      if update.sessionUpdate == 'run_finished' then
        finished = true
        if not headless then
          vim.schedule(function()
            vim.diagnostic.reset(vim.api.nvim_create_namespace('demo_tests'), buf)
            say('done. The fix is in the buffer (and its undo history): u undoes it, :qa! leaves.')
          end)
        end
      end
    end,
  })
  if not headless then
    return
  end
  if not vim.wait(120000, function()
    return finished
  end, 50) then
    say('the run did not finish in time')
    io.stdout:write(require('claw.transcript').text() .. '\n')
    return finish(5)
  end
  vim.cmd('silent! wall')
  io.stdout:write('---- transcript ----\n' .. require('claw.transcript').text() .. '\n')
  io.stdout:write('---- stats.py after ----\n' .. file_text(path) .. '\n')
  local fixed = not file_text(path):find('len(values) + 1', 1, true)
  local tests = vim.system({ 'python3', '-m', 'unittest', '-q', 'test_stats' }, { text = true }):wait()
  if fixed and tests.code == 0 then
    say('fixed, and the tests pass')
    return finish(0)
  end
  say(('not fixed (bug gone: %s, tests exit %d)'):format(tostring(fixed), tests.code))
  io.stdout:write((tests.stderr or '') .. '\n')
  return finish(1)
end

vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  callback = function()
    vim.schedule(function()
      local ok, err = xpcall(run_demo, debug.traceback)
      if not ok then
        say('error: ' .. tostring(err))
        if headless then
          finish(6)
        end
      end
    end)
  end,
})
LUA

cd "$project"
if [[ "$headless" == 1 ]]; then
  echo "== claw demo in headless Neovim: $CLAW_DEMO_MODEL =="
  rc=0
  "$nvim" --headless --clean -u "$tmp/demo_init.lua" stats.py </dev/null || rc=$?
  exit "$rc"
fi
echo "== claw demo in Neovim: $CLAW_DEMO_MODEL =="
"$nvim" --clean -u "$tmp/demo_init.lua" stats.py
