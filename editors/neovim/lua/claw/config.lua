---@brief Options of the claw plugin and the |vim.lsp.Config| built from them.
local M = {}

---@class claw.TranscriptOpts
---@field layout? 'split'|'vsplit'|'float' How |:ClawChat| opens the transcript.
---@field size? integer Height (split) or width (vsplit) of the transcript window.
---@field auto_open? boolean Open the transcript when a run starts.

---@class claw.ReviewOpts
---@field layout? 'inline'|'split'|'tab' 'inline': in the file's buffer (new files, deletions and renames use a review buffer); 'split'/'tab': a review buffer with the unified diff.
---@field keys? table<string, string|false> Inline review keys: accept, reject, feedback, accept_all, reject_all, next, prev, diff.

---@class claw.KeymapOpts
---@field ask? string|false Normal/visual mode: |:ClawAsk|.
---@field fix? string|false Normal mode: |:ClawFix|.
---@field chat? string|false Normal mode: |:ClawChat|.
---@field cancel? string|false Normal mode: |:ClawCancel|.
---@field sessions? string|false Normal mode: |:ClawSessions|.

---@class claw.Opts
---@field cmd? string[] Command that starts the server (default: the repo's .venv/bin/claw-lsp or `claw-lsp` on PATH).
---@field cmd_env? table<string,string> Extra environment for the server process.
---@field settings? table Settings forwarded as initializationOptions (keys of .claw/settings.json).
---@field filetypes? string[] Filetypes to attach to (nil: all).
---@field root_markers? string[] Files that mark the workspace root.
---@field keymaps? boolean|claw.KeymapOpts Opt-in keymaps (true: the defaults below).
---@field transcript? claw.TranscriptOpts
---@field review? claw.ReviewOpts
---@field permission_feedback? boolean Ask for optional feedback after rejecting a tool call.
---@field progress_echo? boolean Echo run progress in the command line.
---@field start? 'enable'|'autocmd' How setup() starts the server: vim.lsp.enable (0.11+) or vim.lsp.start from FileType/BufEnter autocmds (always on 0.10).

---@type claw.Opts
M.defaults = {
  cmd = nil,
  cmd_env = nil,
  settings = {},
  filetypes = nil,
  root_markers = { '.claw', '.git', 'pyproject.toml', 'package.json', 'Cargo.toml', 'go.mod' },
  keymaps = false,
  transcript = { layout = 'vsplit', size = 60, auto_open = true },
  review = { layout = 'inline' },
  permission_feedback = true,
  progress_echo = true,
  start = 'enable',
}

---@type claw.KeymapOpts
M.default_keymaps = {
  ask = '<leader>ca',
  fix = '<leader>cf',
  chat = '<leader>cc',
  cancel = '<leader>cx',
  sessions = '<leader>cs',
}

--- The custom `claw/*` features this client handles (docs/protocol.md, Initialization).
M.client_features = {
  event = true,
  input = true,
  permission = true,
  review = true,
  diagnostics = true,
  saveDocuments = true,
}

---@type claw.Opts
M.options = vim.deepcopy(M.defaults)

---@param opts? claw.Opts
function M.set(opts)
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  return M.options
end

--- The repository this plugin lives in (editors/neovim/lua/claw/config.lua -> repo root).
---@return string
local function plugin_repo()
  local source = debug.getinfo(1, 'S').source:sub(2)
  return vim.fs.normalize(vim.fn.fnamemodify(source, ':p:h:h:h:h:h'))
end

--- The server command: opts.cmd, else the plugin repo's virtualenv, else `claw-lsp` on PATH.
---@return string[]
function M.server_cmd()
  if M.options.cmd then
    return M.options.cmd
  end
  local venv = plugin_repo() .. '/.venv/bin/claw-lsp'
  if vim.fn.executable(venv) == 1 then
    return { venv }
  end
  return { 'claw-lsp' }
end

--- The workspace root of a buffer: the nearest root marker, else the current directory.
---@param bufnr integer
---@return string?
function M.root_for(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' or vim.bo[bufnr].buftype ~= '' or name:match('^%a[%w+.-]*://') then
    return nil
  end
  return vim.fs.root(bufnr, M.options.root_markers) or vim.fn.getcwd()
end

--- initializationOptions: the settings plus the declared client features.
---@return table
function M.init_options()
  local init = vim.deepcopy(M.options.settings or {})
  init.clientFeatures = vim.deepcopy(M.client_features)
  return init
end

--- The |vim.lsp.Config| for the server (used by lsp/claw.lua and by setup()).
---@return vim.lsp.Config
function M.lsp_config()
  local handlers = require('claw.handlers')
  return {
    name = 'claw',
    cmd = M.server_cmd(),
    cmd_env = M.options.cmd_env,
    filetypes = M.options.filetypes,
    root_dir = function(bufnr, on_dir)
      local root = M.root_for(bufnr)
      if root then
        on_dir(root)
      end
    end,
    init_options = M.init_options(),
    settings = { claw = vim.deepcopy(M.options.settings or {}) },
    handlers = handlers.table(),
    on_init = function(client)
      require('claw.diagnostics').attach(client)
    end,
  }
end

return M
