-- rsredis scripting glue: the redis table, library wrappers, the error
-- handler and the read-only sandbox. Runs once per VM with (H, G): H is the
-- hidden helper table shared with Rust, G the real globals table.
local H, G = ...
local SENT = H.SENT
local error, type, tostring, rawget, pairs = error, type, tostring, rawget, pairs
local real_setmetatable, real_rawset = setmetatable, rawset
local real_loadstring, setfenv = loadstring, setfenv
local getinfo = debug.getinfo
local xpcall = xpcall

-- Library functions report failures as (SENT, message); H.cwrap makes a C
-- function that raises them (mode 1: prefixed with the caller's position).
local cwrap = H.cwrap
local function wrap(f) return cwrap(f, 1) end
local function wrap0(f) return cwrap(f, 0) end

local redis = {}
redis.call = wrap0(function(...) return H.call(false, ...) end)
redis.pcall = wrap0(function(...) return H.call(true, ...) end)
redis.error_reply = wrap0(function(e)
  if type(e) ~= 'string' then return {err = 'ERR wrong number or type of arguments'} end
  return {err = e}
end)
redis.status_reply = wrap0(function(s)
  if type(s) ~= 'string' then return {err = 'ERR wrong number or type of arguments'} end
  return {ok = s}
end)
redis.sha1hex = wrap0(H.sha1hex)
redis.log = wrap0(H.log)
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.setresp = wrap0(function(v)
  if v ~= 2 and v ~= 3 then return SENT, 'RESP version must be 2 or 3.' end
  H.resp = v
end)
redis.replicate_commands = function() return true end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.set_repl = wrap0(function(v)
  if type(v) ~= 'number' or v < 0 or v > 3 then
    return SENT, 'Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.'
  end
end)
redis.breakpoint = function() return false end
redis.debug = function() end
redis.acl_check_cmd = wrap0(H.acl_check)
redis.REDIS_VERSION = H.REDIS_VERSION
redis.REDIS_VERSION_NUM = H.REDIS_VERSION_NUM

local function wrap_lib(t)
  for k, f in pairs(t) do
    if type(f) == 'function' then t[k] = wrap(f) end
  end
  return t
end

-- Read-only proxies (Redis 7.0 makes globals and libraries read-only).
local proxies = real_setmetatable({}, {__mode = 'k'})
local function ro_err() error('Attempt to modify a readonly table', 2) end
local function readonly(t)
  local p = real_setmetatable({}, {__index = t, __newindex = ro_err, __metatable = false})
  proxies[p] = true
  return p
end

G.redis = readonly(redis)
G.cjson = readonly(wrap_lib(H.cjson))
G.cmsgpack = readonly(wrap_lib(H.cmsgpack))
G.struct = readonly(wrap_lib(H.struct))
G.bit = readonly(wrap_lib(H.bit))
for _, name in pairs({'string', 'table', 'math', 'coroutine'}) do
  if G[name] then G[name] = readonly(G[name]) end
end
for _, name in pairs({'print', 'dofile', 'loadfile', 'getfenv', 'setfenv', 'require',
                      'module', 'newproxy', 'debug', 'package', 'os', 'io'}) do
  G[name] = nil
end

-- Redis 7.0's pcall hands error tables back as their message.
local real_pcall = pcall
local function pcall_result(ok, ...)
  if not ok then
    local e = ...
    if type(e) == 'table' and type(rawget(e, 'err')) == 'string' then
      return false, rawget(e, 'err')
    end
  end
  return ok, ...
end
G.pcall = function(...) return pcall_result(real_pcall(...)) end

local P = {}
G.setmetatable = wrap0(function(t, mt)
  if proxies[t] then return SENT, 'Attempt to modify a readonly table' end
  return real_setmetatable(t, mt)
end)
G.rawset = wrap0(function(t, k, v)
  if proxies[t] then return SENT, 'Attempt to modify a readonly table' end
  return real_rawset(t, k, v)
end)
G.loadstring = function(s, name)
  local f, e = real_loadstring(s, name)
  if f then setfenv(f, P) end
  return f, e
end

real_setmetatable(P, {
  __index = function(_, k)
    if k == '_G' then return P end
    local v = rawget(G, k)
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = ro_err,
  __metatable = false,
})
proxies[P] = true

-- The error handler: the message (with ERR for plain errors) and the
-- script position where it happened.
local function handler(err)
  local src, line
  for lvl = 2, 50 do
    local i = getinfo(lvl, 'Sl')
    if not i then break end
    if i.what ~= 'C' and i.source ~= '=rsredis_glue' then
      src, line = i.source, i.currentline
      break
    end
  end
  local msg
  if type(err) == 'table' then
    msg = rawget(err, 'err')
    if type(msg) ~= 'string' then msg = 'ERR unknown error' end
  else
    if type(err) == 'userdata' then
      err = tostring(err)
      err = err:match('^[^\n]*'):gsub('^runtime error: ', '')
    end
    msg = 'ERR ' .. tostring(err)
  end
  return {msg, src, line}
end

H.run = function(f)
  return xpcall(f, handler)
end

return P
