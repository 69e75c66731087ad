-- Slash commands from :ClawAsk: <Tab> after `:ClawAsk /` completes the built-ins and a project
-- command from .claude/commands/ (from the server's claw.commands.list, cached per client and
-- fetched again after a run), and `:ClawAsk /greet world` sends the command's expansion to the
-- model (the fake Messages API records it).
local T = require('claw_test')

--- The requests the fake Messages API recorded (only under pytest: CLAW_TEST_FAKE_API).
local function recorded()
  local get = 'import sys, urllib.request as u; '
    .. 'sys.stdout.write(u.urlopen(sys.argv[1], timeout=10).read().decode())'
  local res = vim
    .system({ T.repo .. '/.venv/bin/python', '-c', get, vim.env.CLAW_TEST_FAKE_API .. '/_fake/requests' })
    :wait(15000)
  assert(res.code == 0, 'reading the fake API requests failed: ' .. tostring(res.stderr))
  return vim.json.decode(res.stdout)
end

--- The text of the last user message of a request body.
local function last_user_text(body)
  local content = body.messages[#body.messages].content
  if type(content) == 'string' then
    return content
  end
  local parts = {}
  for _, block in ipairs(content) do
    parts[#parts + 1] = block.text or ''
  end
  return table.concat(parts)
end

T.run(function()
  T.check(
    1,
    'this spec needs the fake Messages API (run it under pytest)',
    vim.env.CLAW_TEST_FAKE_API
  )
  T.write(
    T.ws .. '/.claude/commands/greet.md',
    '---\ndescription: Greet someone\nargument-hint: <name>\n---\nSay hello to $ARGUMENTS, kindly.\n'
  )
  T.write(T.ws .. '/app.py', 'print("hi")\n')
  T.setup({ { content = { T.text('Greeted the world.') }, stop_reason = 'end_turn' } })
  T.open('app.py')

  local all = vim.fn.getcompletion('ClawAsk /', 'cmdline')
  for _, name in ipairs({ '/compact', '/clear', '/model', '/cost', '/help', '/greet' }) do
    T.check(2, name .. ' is offered: ' .. vim.inspect(all), vim.tbl_contains(all, name))
  end
  T.eq(
    3,
    'completion filters by what is typed',
    { '/greet' },
    vim.fn.getcompletion('ClawAsk /gr', 'cmdline')
  )
  T.eq(
    4,
    'a range keeps the completion',
    { '/greet' },
    vim.fn.getcompletion("'<,'>ClawAsk /gr", 'cmdline')
  )
  T.eq(5, 'the arguments are free text', {}, vim.fn.getcompletion('ClawAsk /greet wo', 'cmdline'))
  T.eq(6, 'a plain prompt is not completed', {}, vim.fn.getcompletion('ClawAsk fix', 'cmdline'))

  -- A command file added now shows up only once the list is fetched again, after the next run.
  T.write(T.ws .. '/.claude/commands/later.md', '---\ndescription: Added later\n---\nLater.\n')
  T.eq(7, 'the list is cached', {}, vim.fn.getcompletion('ClawAsk /lat', 'cmdline'))

  vim.cmd('ClawAsk /greet world')
  T.wait_transcript(8, 'Greeted the world.')
  local requests = recorded()
  T.eq(9, 'one model request', 1, #requests)
  T.eq(
    10,
    'the expansion reached the model, after the buffer it was asked from',
    'The user is looking at app.py.\n\nSay hello to world, kindly.',
    last_user_text(requests[1].body)
  )

  T.wait(11, '/later after the run', function()
    return vim.deep_equal(vim.fn.getcompletion('ClawAsk /lat', 'cmdline'), { '/later' })
  end, 10000)

  -- The prompt asked for with vim.ui.input (`:ClawAsk` alone, the transcript's follow-up) completes too.
  local asked = {}
  local real_input = vim.ui.input
  vim.ui.input = function(opts, on_confirm)
    asked[#asked + 1] = opts
    on_confirm(nil)
  end
  vim.cmd('ClawAsk')
  require('claw.transcript').follow_up()
  vim.ui.input = real_input
  T.eq(12, 'two prompts asked', 2, #asked)
  for _, opts in ipairs(asked) do
    T.eq(13, opts.prompt .. 'completes', { '/greet' }, vim.fn.getcompletion('/gr', opts.completion))
    T.eq(
      14,
      opts.prompt .. 'leaves prose alone',
      {},
      vim.fn.getcompletion('/greet wo', opts.completion)
    )
  end
  T.done()
end)
