-- wrk script for `python -m bench`: builds each request from files the benchmark writes.
--   wrk ... -s bench/requests.lua -- MODE PREFIX NTHREADS [PATH_TEMPLATE] [ROWS] [READ_PERCENT]
--                                   [CONNECTION]
-- MODE  read   cycle through PREFIX.req lines "METHOD<TAB>PATH<TAB>TOKEN"
--       put    PUT PREFIX.body to PATH_TEMPLATE ({pid}, {date}); every request gets a fresh
--              (patient, date) pair from PREFIX.who ("PID<TAB>TOKEN") and PREFIX.dates
--       batch  POST a sync body of ROWS entries, fresh dates, to PATH_TEMPLATE ({pid})
--       mixed  READ_PERCENT % of requests as in `read`, the rest as in `put`
-- CONNECTION  "close": every request asks the server to close its connection, so wrk opens a
--              new one for the next (reads under load: see runner.py, `reconnect`)
-- Requests are numbered across threads (thread id set in setup), so no two threads repeat a
-- (patient, date) pair. done() prints one JSON line prefixed BENCHJSON.

local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

local function lines_of(path)
  local out = {}
  local f = io.open(path, "r")
  if f == nil then return out end
  for line in f:lines() do
    if line ~= "" then table.insert(out, line) end
  end
  f:close()
  return out
end

local function split_tab(line)
  local parts = {}
  for field in string.gmatch(line, "[^\t]+") do table.insert(parts, field) end
  return parts
end

local mode, nthreads, template, rows, read_percent, close
local reqs, who, dates, body, item_tail
local n = 0

function init(args)
  mode = args[1]
  local prefix = args[2]
  nthreads = tonumber(args[3])
  template = args[4] or ""
  rows = tonumber(args[5] or "500")
  read_percent = tonumber(args[6] or "70")
  close = args[7] == "close"
  reqs = {}
  for _, line in ipairs(lines_of(prefix .. ".req")) do table.insert(reqs, split_tab(line)) end
  who = {}
  for _, line in ipairs(lines_of(prefix .. ".who")) do table.insert(who, split_tab(line)) end
  dates = lines_of(prefix .. ".dates")
  local b = lines_of(prefix .. ".body")
  body = b[1] or ""
  -- a batch item is the body with its entry_date first: '{"entry_date":"D",' .. item_tail
  item_tail = string.sub(body, 2)
end

local function headers(token)
  local h = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  if close then h["Connection"] = "close" end
  return h
end

local function read_request(g)
  local r = reqs[(g % #reqs) + 1]
  return wrk.format(r[1], r[2], headers(r[3]), nil)
end

local function put_request(g)
  local w = who[(g % #who) + 1]
  local d = dates[(math.floor(g / #who) % #dates) + 1]
  local path = string.gsub(string.gsub(template, "{pid}", w[1]), "{date}", d)
  return wrk.format("PUT", path, headers(w[2]), body)
end

local function batch_request(g)
  local w = who[(g % #who) + 1]
  local block = math.floor(g / #who)
  local items = {}
  for k = 1, rows do
    local d = dates[((block * rows + k - 1) % #dates) + 1]
    items[k] = '{"entry_date":"' .. d .. '",' .. item_tail
  end
  local payload = '{"symptom_entries":[' .. table.concat(items, ",") ..
    '],"exercise_sessions":[],"deletions":[]}'
  local path = string.gsub(template, "{pid}", w[1])
  return wrk.format("POST", path, headers(w[2]), payload)
end

local writes = 0

function request()
  local g = n * nthreads + tid
  n = n + 1
  if mode == "read" then return read_request(g) end
  if mode == "put" then return put_request(g) end
  if mode == "batch" then return batch_request(g) end
  -- mixed: a fixed pattern of read_percent reads in every 100 requests
  if (g % 100) < read_percent then return read_request(g) end
  writes = writes + 1
  return put_request(writes * nthreads + tid)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"mean_us":%f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.mean))
end
