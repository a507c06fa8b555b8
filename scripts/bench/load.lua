-- The wrk script behind scripts/bench.sh. One script serves every scenario; environment
-- variables say what each request is:
--
--   BENCH_METHOD  GET (default) or POST
--   BENCH_AUTH    "bearer": each request carries the next token of the pool as a bearer token;
--                 anything else is sent as the Authorization header as it stands (may be empty)
--   BENCH_BODY    the request body; every "{token}" in it is replaced by the next pool token
--   BENCH_TYPE    the Content-Type of a body (default application/x-www-form-urlencoded)
--   BENCH_ACCEPT  an Accept header to send (optional)
--   BENCH_EXTRA   one more header, "name: value" (optional)
--   BENCH_POOL    a file of tokens, one per line; thread i of n takes lines i, i+n, ...
--   BENCH_THREADS n, the number of wrk threads (the -t given to wrk)
--   BENCH_ONCE    "1": use each token once, then stop the thread (a cold pool)
--   BENCH_SAVE    a path prefix: the access_token of every 200 answer is appended to
--                 <prefix>.<thread> (the next scenario's pool)
--   BENCH_DELAY   milliseconds each connection waits between requests (a fixed rate)
--
-- When the run ends, one line "BENCH {json}" gives requests, seconds, rps, latency
-- percentiles in microseconds and the error counts; non-2xx/3xx answers count as errors.

local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local function env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then return default end
  return value
end

local pool = {}
local next_index = 1
local once = env("BENCH_ONCE", "0") == "1"
local method = env("BENCH_METHOD", "GET")
local auth = env("BENCH_AUTH", "")
local body = env("BENCH_BODY", nil)
local delay_ms = tonumber(env("BENCH_DELAY", "0"))
local headers = {}
local saved = nil

function init(args)
  local path = env("BENCH_POOL", nil)
  if path ~= nil then
    for line in io.lines(path) do
      if line ~= "" then table.insert(pool, line) end
    end
  end
  if body ~= nil then
    headers["Content-Type"] = env("BENCH_TYPE", "application/x-www-form-urlencoded")
  end
  local accept = env("BENCH_ACCEPT", nil)
  if accept ~= nil then headers["Accept"] = accept end
  local extra = env("BENCH_EXTRA", nil)
  if extra ~= nil then
    local name, value = extra:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  if auth ~= "bearer" and auth ~= "" then headers["Authorization"] = auth end
  local save = env("BENCH_SAVE", nil)
  if save ~= nil then saved = assert(io.open(save .. "." .. id, "a")) end
end

-- The thread's share of the pool: every n-th line from its own offset, so no two threads of
-- a cold run send the same token.
local share = nil
local function next_token()
  if share == nil then
    share = {}
    local stride = tonumber(env("BENCH_THREADS", "1"))
    for index = id + 1, #pool, stride do table.insert(share, pool[index]) end
    if #share == 0 then error("BENCH_POOL gives thread " .. id .. " no tokens") end
  end
  if next_index > #share then
    if once then wrk.thread:stop() end
    next_index = 1
  end
  local token = share[next_index]
  next_index = next_index + 1
  return token
end

function request()
  local token = nil
  if auth == "bearer" or (body ~= nil and body:find("{token}", 1, true)) then
    token = next_token()
  end
  if auth == "bearer" then headers["Authorization"] = "Bearer " .. token end
  local payload = body
  if payload ~= nil and token ~= nil then
    payload = payload:gsub("{token}", function() return token end)
  end
  return wrk.format(method, nil, headers, payload)
end

if delay_ms > 0 then
  function delay() return delay_ms end
end

if env("BENCH_SAVE", nil) ~= nil then
  function response(status, _, answer)
    if status == 200 and saved ~= nil then
      local token = answer:match('"access_token":"([^"]+)"')
      if token ~= nil then
        saved:write(token, "\n")
        saved:flush()
      end
    end
  end
end

function done(summary, latency, _)
  local errors = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d}}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
