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
      if type(params) == 'table' and type(params.update) == 'table' then
        if params.update.sessionUpdate == 'run_finished' and ctx and ctx.client_id then
          require('claw.commands').refresh(ctx.client_id) -- the run may have added a command
        end
      end
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
