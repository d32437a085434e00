-- wrk script: each request's path is drawn from a file of paths (one per line), either by a Zipf
-- distribution (s = 1: a few hot pages and a long tail) or in rotation. Prints one JSON line.
-- Usage: wrk -t1 -c50 -d10s -s bench/wrk-paths.lua http://host:port -- paths.txt zipf|rotation
local paths, cdf, mode, counter = {}, {}, "zipf", 0

function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  mode = args[2] or mode
  local total = 0
  for i = 1, #paths do
    total = total + 1 / i
    cdf[i] = total
  end
  for i = 1, #paths do cdf[i] = cdf[i] / total end
  math.randomseed(42)
end

function request()
  local index
  if mode == "rotation" then
    counter = counter % #paths + 1
    index = counter
  else
    local target, low, high = math.random(), 1, #paths
    while low < high do
      local mid = math.floor((low + high) / 2)
      if cdf[mid] < target then low = mid + 1 else high = mid end
    end
    index = low
  end
  return wrk.format("GET", paths[index])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"p50":%.3f,"p95":%.3f,"p975":%.3f,"p99":%.3f}\n',
    summary.requests, summary.duration, errors.connect + errors.read + errors.write + errors.timeout, errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(97.5) / 1000, latency:percentile(99) / 1000))
end
