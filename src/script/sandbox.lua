-- Ember's Lua sandbox, run once when the engine starts (chunk name "=ember",
-- which the error handler skips when it looks for the script's own line).
--
-- Globals are read-only, as in Redis 7: scripts see an empty proxy whose
-- lookups fall through to the table G of allowed names; reading a name G
-- lacks raises "Script attempted to access nonexistent global variable",
-- writing any global or any library table raises "Attempt to modify a
-- readonly table". Library functions written in Rust return a failure marker
-- and a message that the wrappers below raise as ordinary Lua errors.

local R, raw, H, VERSION, VERSION_NUM = ...
local dbg = debug
R.debug = nil
R.dofile = nil
R.loadfile = nil
R.print = nil

local error, type, tostring, tonumber, select, pairs, ipairs = error, type, tostring, tonumber, select, pairs, ipairs
local rawequal, setmetatable, unpack, xpcall = rawequal, setmetatable, unpack, xpcall
local real_rawset, real_pcall, real_loadstring, real_load = rawset, pcall, loadstring, load
local real_getfenv, real_setfenv = getfenv, setfenv
local sbyte, smatch, slower = string.byte, string.match, string.lower
local floor, ceil, concat = math.floor, math.ceil, table.concat
local getinfo = dbg.getinfo

local PROXY = setmetatable({}, { __mode = 'k' })

local function ro_error()
  error('Attempt to modify a readonly table', 2)
end

local function missing(k)
  return "Script attempted to access nonexistent global variable '" .. tostring(k) .. "'"
end

local function readonly(t)
  local p = setmetatable({}, { __index = t, __newindex = ro_error, __metatable = false })
  PROXY[p] = true
  return p
end

-- Read-only, and reading a missing name is an error.
local function strict(t)
  local p = setmetatable({}, {
    __index = function(_, k)
      local v = t[k]
      if v == nil then error(missing(k), 2) end
      return v
    end,
    __newindex = ro_error,
    __metatable = false,
  })
  PROXY[p] = true
  return p
end

local function fail(msg)
  error({ err = 'ERR ' .. msg }, 0)
end

-- A Rust function raising an error leaves the error value in H.pending
-- (mlua would hand Lua a userdata otherwise).
local function pending(e)
  if type(e) == 'userdata' then
    local p = H.pending
    if p ~= nil then
      H.pending = nil
      return p
    end
  end
  return e
end

local function wrap_lib(t)
  local w = {}
  for k, f in pairs(t) do
    w[k] = f
  end
  return readonly(w)
end

local function pack(...)
  return { n = select('#', ...), ... }
end

local G = {}
for _, k in ipairs({ 'assert', 'error', 'ipairs', 'next', 'pairs', 'rawequal', 'rawget', 'select',
  'setmetatable', 'getmetatable', 'tonumber', 'tostring', 'type', 'unpack', 'xpcall', 'gcinfo',
  'collectgarbage', '_VERSION' }) do
  G[k] = R[k]
end
-- newproxy, with the metatable of a new proxy locked: a __gc finalizer
-- would run inside whatever allocation triggers the collection, Rust code
-- included, and an error raised there would jump over Rust frames (Redis's
-- C code has no frames to skip). getmetatable on such a proxy gives false.
local real_newproxy, real_getmetatable = newproxy, getmetatable
G.newproxy = function(...)
  local p = real_newproxy(...)
  local mt = real_getmetatable(p)
  if type(mt) == 'table' then mt.__metatable = false end
  return p
end

-- Code loaded at run time gets the environment of the code loading it.
G.loadstring = function(s, name)
  if type(s) == 'string' and sbyte(s, 1) == 27 then
    return nil, 'binary chunks are not allowed'
  end
  local f, e = real_loadstring(s, name)
  if f then real_setfenv(f, real_getfenv(2)) end
  return f, e
end
G.load = function(fn, name)
  local first = true
  local f, e = real_load(function()
    local piece = fn()
    if first and type(piece) == 'string' and sbyte(piece, 1) == 27 then return nil end
    first = false
    return piece
  end, name)
  if f then real_setfenv(f, real_getfenv(2)) end
  return f, e
end
H.proxies = PROXY
G.rawset = H.rawset
G.setmetatable = H.setmetatable
G.setfenv = function(f, env)
  if f == 0 then error('Attempt to modify a readonly table', 2) end
  if type(f) == 'number' and f > 0 then f = f + 1 end
  return real_setfenv(f, env)
end
-- Redis 7's pcall: an error table from redis.call becomes its message.
-- Once the script is killed no pcall may catch that (or any) error, or a
-- `while true do pcall(f) end` could never be stopped.
G.pcall = function(...)
  local r = pack(real_pcall(...))
  if not r[1] and H.killed() then error(r[2], 0) end
  if not r[1] then r[2] = pending(r[2]) end
  if not r[1] and type(r[2]) == 'table' then
    local e = r[2].err
    if type(e) == 'string' or type(e) == 'number' then r[2] = e end
  end
  return unpack(r, 1, r.n)
end

G.xpcall = function(f, handler)
  local stopped = false
  local r = pack(xpcall(f, function(e)
    if H.killed() then
      stopped = true
      return e
    end
    return handler(e)
  end))
  if stopped then error(r[2], 0) end
  return unpack(r, 1, r.n)
end

G.string = readonly(string)
-- String methods ("x"):upper() use the read-only proxy too, and the string
-- metatable cannot be reached to be changed.
local smt = getmetatable('')
smt.__index = G.string
smt.__metatable = readonly({ __index = G.string })
G.table = readonly(table)
G.math = readonly(math)
G.coroutine = readonly(coroutine)
for _, name in ipairs({ 'cjson', 'cmsgpack', 'bit', 'struct' }) do
  G[name] = wrap_lib(raw[name])
end

-- The redis API. call/pcall/setresp/set_repl/log/sha1hex are Rust
-- functions (C functions to Lua, so a tail call keeps the script's frame
-- and errors point at the script's line, as in Redis).
local RR = {}
RR.call, RR.pcall, RR.setresp, RR.set_repl = H.call, H.pcall, H.setresp, H.set_repl
RR.sha1hex = H.sha1hex
RR.replicate_commands = function() return true end
RR.acl_check_cmd = H.acl_check_cmd
-- The debugger's calls are no-ops outside a debugging session.
RR.breakpoint = function() return false end
RR.debug = function() end
RR.REPL_NONE, RR.REPL_AOF, RR.REPL_SLAVE, RR.REPL_REPLICA, RR.REPL_ALL = 0, 1, 2, 2, 3

local function version(t)
  t.log = H.log
  t.LOG_DEBUG, t.LOG_VERBOSE, t.LOG_NOTICE, t.LOG_WARNING = 0, 1, 2, 3
  t.REDIS_VERSION, t.REDIS_VERSION_NUM = VERSION, VERSION_NUM
end
version(RR)

RR.error_reply = function(...)
  if select('#', ...) ~= 1 or type((...)) ~= 'string' then
    return { err = 'ERR wrong number or type of arguments' }
  end
  local e = ...
  if sbyte(e, 1) ~= 45 then e = '-' .. e end
  return { err = H.errtext(e) }
end
RR.status_reply = function(...)
  if select('#', ...) ~= 1 or type((...)) ~= 'string' then
    return { err = 'ERR wrong number or type of arguments' }
  end
  return { ok = (...) }
end
G.redis = readonly(RR)

setmetatable(G, {
  __index = function(_, k) error(missing(k), 2) end,
  __newindex = ro_error,
  __metatable = false,
})

-- getmetatable(_G) gives a table, as in Redis, but a read-only one.
local E = setmetatable({}, { __index = G, __newindex = ro_error, __metatable = readonly({}) })
PROXY[E] = true
real_rawset(G, '_G', E)
real_rawset(G, 'getfenv', function(f)
  local e
  if f == nil then
    e = real_getfenv(2)
  elseif type(f) == 'number' and f > 0 then
    e = real_getfenv(f + 1)
  else
    e = real_getfenv(f)
  end
  if rawequal(e, R) then return E end
  return e
end)

-- Functions (FUNCTION LOAD): their own environment, whose lookups go to a
-- small load-time API while the library body runs, and to G afterwards.
local FM = { __index = G, __newindex = ro_error, __metatable = false }
local F = setmetatable({}, FM)
PROXY[F] = true

local FLAGS = { ['no-writes'] = true, ['allow-oom'] = true, ['allow-stale'] = true,
  ['no-cluster'] = true, ['allow-cross-slot-keys'] = true }
local REG = nil

local function register(...)
  if not REG then fail('redis.register_function can only be called on FUNCTION LOAD command') end
  local n = select('#', ...)
  if n < 1 or n > 2 then fail('wrong number of arguments to redis.register_function') end
  local name, cb, flags, desc
  if n == 1 then
    local t = ...
    if type(t) ~= 'table' then
      fail('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
    end
    for k, v in pairs(t) do
      if type(k) ~= 'string' and type(k) ~= 'number' then
        fail('named argument key given to redis.register_function is not a string')
      end
      local lk = slower(tostring(k))
      if lk == 'function_name' then
        if type(v) ~= 'string' and type(v) ~= 'number' then
          fail('function_name argument given to redis.register_function must be a string')
        end
        name = tostring(v)
      elseif lk == 'description' then
        if type(v) ~= 'string' and type(v) ~= 'number' then
          fail('description argument given to redis.register_function must be a string')
        end
        desc = tostring(v)
      elseif lk == 'callback' then
        if type(v) ~= 'function' then
          fail('callback argument given to redis.register_function must be a function')
        end
        cb = v
      elseif lk == 'flags' then
        if type(v) ~= 'table' then
          fail('flags argument to redis.register_function must be a table representing function flags')
        end
        flags = {}
        for _, f in pairs(v) do
          if type(f) ~= 'string' or not FLAGS[f] then fail('unknown flag given') end
          flags[#flags + 1] = f
        end
      else
        fail('unknown argument given to redis.register_function')
      end
    end
    if not name then fail('redis.register_function must get a function name argument') end
    if not cb then fail('redis.register_function must get a callback argument') end
  else
    name, cb = ...
    if type(name) ~= 'string' and type(name) ~= 'number' then
      fail('first argument to redis.register_function must be a string')
    end
    if type(cb) ~= 'function' then
      fail('second argument to redis.register_function must be a function')
    end
    name = tostring(name)
  end
  if not smatch(name, '^[%w_]+$') then
    fail('Library names can only contain letters, numbers, or underscores(_) and must be at least one character long')
  end
  if REG.names[name] then fail('Function already exists in the library') end
  REG.names[name] = true
  REG[#REG + 1] = { name = name, callback = cb, flags = flags or {}, description = desc }
end

local LR = { register_function = register }
version(LR)
local LOADP = strict({ redis = strict(LR) })

local function handler(err)
  err = pending(err)
  local info
  local lvl = 2
  while true do
    local i = getinfo(lvl, 'nSl')
    if not i then break end
    if i.what ~= 'C' and i.source ~= '=ember' then
      info = i
      break
    end
    lvl = lvl + 1
  end
  if type(err) ~= 'table' then
    local s = tostring(err)
    err = { err = 'ERR ' .. s }
  elseif PROXY[err] then
    err = { err = 'ERR ' .. tostring(err) }
  end
  if info then
    err.source = info.source
    err.line = info.currentline
  end
  return err
end

local api = {}
api.G, api.E, api.F = G, E, F
api.run_eval = function(f)
  return xpcall(f, handler)
end
api.run_fn = function(f, keys, args)
  return xpcall(function() return f(keys, args) end, handler)
end
api.load = function(f)
  REG = { names = {} }
  FM.__index = LOADP
  local ok, e = real_pcall(f)
  if not ok then e = pending(e) end
  FM.__index = G
  local reg = REG
  REG = nil
  if not ok then
    if type(e) == 'table' and not PROXY[e] then
      e = tostring(e.err)
    else
      e = 'ERR ' .. tostring(e)
    end
    return false, e
  end
  reg.names = nil
  return true, reg
end
return api
