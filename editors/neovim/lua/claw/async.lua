---@brief Answering server requests after the user has answered a UI prompt.
---
--- Neovim 0.11 runs each server->client request handler inside a coroutine
--- (`vim.lsp.rpc` wraps the dispatch in `coroutine.wrap`) and sends the handler's
--- return value as the response. A handler can therefore yield while a prompt,
--- a review buffer or `vim.ui.select` is shown, and be resumed from the UI's
--- callback: the editor stays responsive and the response goes out when the
--- user is done. When no yieldable coroutine is available (a handler called
--- directly, older builds), we fall back to a nested `vim.wait` loop, which also
--- keeps the UI responsive and works headless.
local M = {}

--- Start `start(done)` and return the value passed to `done` once it is called.
---@generic T
---@param start fun(done: fun(value: T))
---@param timeout_ms? integer Fallback loop only; default: wait forever.
---@return T
function M.await(start, timeout_ms)
  local co = coroutine.running()
  if co and coroutine.isyieldable() then
    local finished = false
    start(function(value)
      if finished then
        return
      end
      finished = true
      vim.schedule(function()
        local ok, err = coroutine.resume(co, value)
        if not ok then
          vim.notify('claw: ' .. tostring(err), vim.log.levels.ERROR)
        end
      end)
    end)
    return coroutine.yield()
  end
  local finished, result = false, nil
  start(function(value)
    if not finished then
      finished, result = true, value
    end
  end)
  vim.wait(timeout_ms or 2 ^ 31 - 1, function()
    return finished
  end, 20)
  return result
end

return M
