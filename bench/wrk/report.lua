-- Shared by the wrk scripts: numbers each thread and prints one machine-readable line at the end
--   WRK_JSON {"requests":..,"seconds":..,"p50_ms":..,"p99_ms":..,"p999_ms":..,"errors":..}
-- which `adsctl bench capacity` reads.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"seconds":%.6f,"mean_ms":%.4f,"p50_ms":%.4f,"p99_ms":%.4f,"p999_ms":%.4f,' ..
    '"max_ms":%.4f,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration / 1e6, latency.mean / 1e3, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, latency:percentile(99.9) / 1e3, latency.max / 1e3,
    e.connect, e.read, e.write, e.status, e.timeout))
end
