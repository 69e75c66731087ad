#!/usr/bin/env bash
# `make demo` in Neovim: open a copy of examples/sample_project in Neovim 0.11 (.venv/bin/nvim) with
# the plugin from editors/neovim, run the tests, show the failure as a diagnostic, and walk through:
# 1. the server's "Fix with Claw: ..." code action; 2. the inline review of its two-hunk change
# (ga accepts the fix, gR rejects the unasked rewrite with feedback); 3. the model's reply;
# 4. the permission prompt for the test command, and its output in the transcript; 5. u undoes
# the whole change. Each step is announced (with the keys) and paced so a person can follow.
#
# Model: the real one when ANTHROPIC_API_KEY is set, else the scripted turns in
# examples/demo_turns.jsonl. The screen says which.
# With a terminal: interactive, you stay in Neovim afterwards (:qa! to leave).
# With CI=true or without a terminal: headless, no pauses; prints each step, the transcript and
# stats.py before, after the review and after undo, and exits 0 only if every step worked.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
nvim="$repo/.venv/bin/nvim"
[[ -x "$nvim" ]] || { echo "demo: $nvim is missing (run: make setup)" >&2; exit 2; }
[[ -x "$repo/.venv/bin/claw-lsp" ]] || { echo "demo: .venv/bin/claw-lsp is missing (run: make setup)" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
project="$tmp/sample_project"
cp -r "$repo/examples/sample_project" "$project"
# The sample's .claw/settings.json allows its test command for the headless CLI demo; here the
# permission prompt is part of the walk-through.
rm -f "$project/.claw/settings.json"
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

-- Permission mode default: every change is reviewed, every command asked about.
local settings = { permissionMode = 'default' }
if vim.env.CLAW_DEMO_SCRIPT ~= '' then
  settings = { permissionMode = 'default', provider = 'scripted', scriptPath = vim.env.CLAW_DEMO_SCRIPT }
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

local original_text
local pace = headless and 0 or 2200 -- ms between steps, so a person can follow

--- Run `steps` (functions) one after the other, `pace` ms apart; a step returning a function
--- waits until that function returns true (polled every 100 ms, at most 120 s).
local function sequence(steps)
  local i = 0
  local function next_step()
    i = i + 1
    local step = steps[i]
    if not step then
      return
    end
    local ok, wait_for = xpcall(step, debug.traceback)
    if not ok then
      say('error: ' .. tostring(wait_for))
      return headless and finish(6)
    end
    if type(wait_for) == 'function' then
      local started = vim.uv.now()
      local timer = vim.uv.new_timer()
      timer:start(100, 100, vim.schedule_wrap(function()
        if timer:is_closing() then
          return
        end
        if wait_for() then
          timer:stop()
          timer:close()
          vim.defer_fn(next_step, pace)
        elseif vim.uv.now() - started > 120000 then
          timer:stop()
          timer:close()
          say('timed out at step ' .. i)
          io.stdout:write(require('claw.transcript').text() .. '\n')
          return headless and finish(5)
        end
      end))
    else
      vim.defer_fn(next_step, pace)
    end
  end
  next_step()
end

local function keys(lhs)
  vim.api.nvim_feedkeys(vim.keycode(lhs), 'mx', false)
end

-- The permission question (vim.ui.select): shown, then answered "Allow once" as the demo's user.
local select = vim.ui.select
vim.ui.select = function(items, opts, on_choice)
  if opts and opts.kind == 'claw_permission' then
    say('Claw asks before it runs a command: "' .. (opts.prompt or ''):gsub('\n%s*', ' | ') .. '"')
    say('the options: ' .. table.concat(vim.tbl_map(function(i)
      return i.name
    end, items), ' / ') .. '; choosing "Allow once"')
    vim.defer_fn(function()
      for _, item in ipairs(items) do
        if item.optionId == 'allow_once' then
          return on_choice(item)
        end
      end
      on_choice(nil)
    end, pace)
    return
  end
  return select(items, opts, on_choice)
end

local function run_demo()
  local buf = vim.api.nvim_get_current_buf()
  local path = vim.api.nvim_buf_get_name(buf)
  original_text = file_text(path)
  say('model: ' .. vim.env.CLAW_DEMO_MODEL)
  if not headless then
    vim.wo.winbar = '%#Title# claw demo %* model: ' .. vim.env.CLAW_DEMO_MODEL
  end
  if headless then
    io.stdout:write('---- stats.py before ----\n' .. original_text .. '\n')
  end
  local review, finished = nil, false
  vim.api.nvim_create_autocmd('User', {
    pattern = 'ClawEvent',
    callback = function(ev)
      local update = ev.data and ev.data.update or {}
      if update.sessionUpdate == 'run_finished' then
        finished = true
      end
    end,
  })
  local fixed_text
  sequence({
    function()
      return function()
        local c = vim.lsp.get_clients({ name = 'claw', bufnr = buf })[1]
        return c ~= nil and c.initialized
      end
    end,
    function()
      local message = show_test_failure(buf)
      if not message then
        say('the tests already pass: nothing to fix')
        return headless and finish(4)
      end
      say('1/5 the tests fail; the failure is a diagnostic on the buggy line: "' .. message .. '"')
    end,
    function()
      say('1/5 picking the code action "Fix with Claw: ..." (in your editor: gra, or :ClawFix)')
      vim.lsp.buf.code_action({
        apply = true,
        filter = function(action)
          return vim.startswith(action.title, 'Fix with Claw:')
        end,
      })
      return function()
        review = require('claw.review').get()
        return review ~= nil
      end
    end,
    function()
      say('2/5 the change waits for review, drawn in the buffer: removed lines red, added lines green,')
      say('    nothing applied yet. Keys: ga accept · gr reject · gR reject with feedback · ]h [h move · gD split diff')
      require('claw.review').show_hunk(review, 1)
    end,
    function()
      say('2/5 ga on hunk 1 (the fix to average): accepted; the cursor moves to hunk 2')
      keys('ga')
    end,
    function()
      say('2/5 gR on hunk 2 (an unasked rewrite of spread): rejected, with the feedback "keep spread as it is"')
      local input = vim.ui.input
      vim.ui.input = function(_, on_confirm)
        vim.ui.input = input
        on_confirm('keep spread as it is')
      end
      keys('gR')
      return function()
        return not file_text(path):find('len(values) + 1', 1, true)
          or vim.api.nvim_buf_get_lines(buf, 0, -1, false)[8] == '    return sum(values) / len(values)'
      end
    end,
    function()
      say('3/5 only hunk 1 landed; the model got the feedback and answered. Next it runs the tests:')
      return function()
        return finished
      end
    end,
    function()
      vim.diagnostic.reset(vim.api.nvim_create_namespace('demo_tests'), buf)
      fixed_text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
      local tbuf = require('claw.transcript').buf()
      for _, win in ipairs(vim.fn.win_findbuf(tbuf)) do
        vim.api.nvim_win_call(win, function()
          vim.cmd('normal! zR')
        end)
      end
      say('4/5 the test run and its output are in the transcript (folded under each tool call; <Tab> opens one)')
    end,
    function()
      vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
      vim.cmd('normal! u')
      local undone = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
      say(('5/5 u: the whole change undone in one step (%s)'):format(undone == original_text and 'stats.py is as before' or 'NOT as before'))
      if not headless then
        say('done. :qa! leaves; try it yourself: :ClawAsk, :ClawChat, :help claw')
        return
      end
      local transcript = require('claw.transcript').text()
      io.stdout:write('---- transcript ----\n' .. transcript .. '\n')
      io.stdout:write('---- stats.py after the review ----\n' .. fixed_text .. '\n')
      io.stdout:write('---- stats.py after u ----\n' .. undone .. '\n')
      local checks = {
        ['the fix to average landed'] = not fixed_text:find('len(values) + 1', 1, true),
        ['spread kept (hunk 2 rejected)'] = fixed_text:find('return max(values) - min(values)', 1, true) ~= nil,
        ['the feedback went to the model'] = transcript:find('keep spread as it is', 1, true) ~= nil,
        ['the tests ran and passed'] = transcript:find('│ OK', 1, true) ~= nil,
        ['u restored the file'] = undone == original_text,
      }
      local failed = {}
      for what, ok in pairs(checks) do
        if not ok then
          failed[#failed + 1] = what
        end
      end
      if #failed == 0 then
        say('every step worked')
        return finish(0)
      end
      say('failed: ' .. table.concat(failed, ', '))
      return finish(1)
    end,
  })
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
