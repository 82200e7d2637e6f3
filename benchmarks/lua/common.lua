-- Shared by the benchmark scripts (loaded with dofile): the auth headers, a line reader and
-- a machine-readable summary that benchmarks/bench.py parses (all latencies in microseconds).
local M = {}

-- Host is explicit: requests pre-built at load time come before wrk fills in its default.
function M.headers(has_body)
  local h = {
    ["Host"] = os.getenv("BENCH_HOST"),
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
    ["Accept"] = "application/json",
  }
  if has_body then
    h["Content-Type"] = "application/json"
  end
  return h
end

function M.read_lines(path)
  local t = {}
  for line in io.lines(path) do
    if #line > 0 then
      t[#t + 1] = line
    end
  end
  return t
end

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end

return M
