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

-- A function (FCALL) gets its keys and arguments as parameters.
H.run_fn = function(f, keys, args)
  return xpcall(function() return f(keys, args) end, handler)
end

-- ---- Functions (FUNCTION LOAD / FCALL) ----
-- A library's chunk runs in E. While it loads, E shows only the load API
-- (redis.register_function, redis.log, the versions), as Redis 7.0; when
-- its functions run later, the scripts' read-only globals.
local lower, select, ipairs = string.lower, select, ipairs
local loading, reg = false, nil
local function nonexistent(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local function fail(msg) error({err = 'ERR ' .. msg}) end
local FLAGS = {'no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'}
local function isstr(v) local t = type(v) return t == 'string' or t == 'number' end

local function register(...)
  if not loading then fail('redis.register_function can only be called on FUNCTION LOAD command') end
  local n = select('#', ...)
  if n < 1 or n > 2 then fail('wrong number of arguments to redis.register_function') end
  local name, cb, flags, desc
  if n == 1 then
    local t = ...
    if type(t) ~= 'table' then
      fail('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
    end
    for k, v in pairs(t) do
      if not isstr(k) then fail('named argument key given to redis.register_function is not a string') end
      local key = lower(tostring(k))
      if key == 'function_name' then
        if not isstr(v) then fail('function_name argument given to redis.register_function must be a string') end
        name = tostring(v)
      elseif key == 'description' then
        if not isstr(v) then fail('description argument given to redis.register_function must be a string') end
        desc = tostring(v)
      elseif key == 'callback' then
        if type(v) ~= 'function' then fail('callback argument given to redis.register_function must be a function') end
        cb = v
      elseif key == 'flags' then
        if type(v) ~= 'table' then
          fail('flags argument to redis.register_function must be a table representing function flags')
        end
        flags = {}
        local j = 1
        while v[j] ~= nil do
          local f = v[j]
          if not isstr(f) then fail('unknown flag given') end
          local lf, found = lower(tostring(f)), false
          for _, d in ipairs(FLAGS) do
            if d == lf then flags[d] = true; found = true; break end
          end
          if not found then fail('unknown flag given') end
          j = j + 1
        end
      else
        fail('unknown argument given to redis.register_function')
      end
    end
    if not name then fail('redis.register_function must get a function name argument') end
    if not cb then fail('redis.register_function must get a callback argument') end
  else
    local a, b = ...
    if not isstr(a) then fail('first argument to redis.register_function must be a string') end
    if type(b) ~= 'function' then fail('second argument to redis.register_function must be a function') end
    name, cb = tostring(a), b
  end
  if #name == 0 or name:find('[^%w_]') then
    fail('Library names can only contain letters, numbers, or underscores(_) and must be at least one character long')
  end
  if reg.seen[name] then fail('Function already exists in the library') end
  reg.seen[name] = true
  local fl = {}
  for _, d in ipairs(FLAGS) do if flags and flags[d] then fl[#fl + 1] = d end end
  reg[#reg + 1] = {name = name, callback = cb, flags = fl, description = desc}
end

local LREDIS = real_setmetatable({
  -- A C function around it: a tail call keeps the caller's frame for errors.
  register_function = wrap0(register),
  log = redis.log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = H.REDIS_VERSION, REDIS_VERSION_NUM = H.REDIS_VERSION_NUM,
}, {__index = nonexistent, __newindex = ro_err, __metatable = false})
proxies[LREDIS] = true
local LIBAPI = {redis = LREDIS}

local E = {}
real_setmetatable(E, {
  __index = function(_, k)
    local v
    if loading then v = rawget(LIBAPI, k) else v = rawget(G, k) end
    if v == nil then
      if k == '_G' and not loading then return E end
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = ro_err,
  __metatable = false,
})
proxies[E] = true
H.fenv = E

-- Run a library's chunk: (true, registered) or (false, message).
H.fload = function(f)
  loading, reg = true, {seen = {}}
  local ok, e = real_pcall(f)
  loading = false
  local r = reg
  reg = nil
  if ok then
    r.seen = nil
    return true, r
  end
  if type(e) == 'table' and type(rawget(e, 'err')) == 'string' then return false, rawget(e, 'err') end
  if type(e) == 'userdata' then
    return false, 'ERR ' .. (tostring(e):match('^[^\n]*'):gsub('^runtime error: ', ''))
  end
  return false, 'ERR ' .. tostring(e)
end

return P
