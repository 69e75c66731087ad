---@brief Client handlers for the server's custom `claw/*` methods (docs/protocol.md).
---
--- Requests are answered asynchronously through |claw.async|: each handler yields
--- while its UI is shown and returns the result once the user has answered.
local M = {}

--- The `handlers` table of the |vim.lsp.Config|.
---@return table<string, lsp.Handler>
function M.table()
  return {
    ['claw/event'] = function(_, params, ctx)
      require('claw.transcript').on_event(params, ctx)
    end,
    ['claw/input'] = function(_, params)
      return require('claw.prompts').input(params)
    end,
    ['claw/permission'] = function(_, params)
      return require('claw.prompts').permission(params)
    end,
    ['claw/review'] = function(_, params, ctx)
      return require('claw.review').review(params, ctx)
    end,
    ['claw/diagnostics'] = function(_, params, ctx)
      return require('claw.diagnostics').handle(params, ctx)
    end,
    ['claw/saveDocuments'] = function(_, params)
      return require('claw.prompts').save_documents(params)
    end,
  }
end

return M
