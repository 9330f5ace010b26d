-- wrk script: POST /v1/ads at a fixed total rate, ADSD_RATE requests per second spread over all
-- connections (each connection waits connections / rate between requests). Used where the
-- benchmark needs a load below saturation: the write-to-read lag at half the top rate.
dofile((os.getenv("ADSD_WRK_DIR") or "bench/wrk") .. "/post_ad.lua")
local rate = tonumber(os.getenv("ADSD_RATE") or "1000")
local connections = tonumber(os.getenv("ADSD_CONNECTIONS") or "64")
-- A connection's cycle is its delay plus the answer's latency: subtract the expected latency
-- (ADSD_LATENCY_MS) so that the achieved rate is close to ADSD_RATE. wrk reports the achieved one.
local latency_ms = tonumber(os.getenv("ADSD_LATENCY_MS") or "1")

function delay()
  -- Exponential gaps (Poisson arrivals) with the connection's mean interval.
  local mean_ms = math.max(0, connections / rate * 1000 - latency_ms)
  return -math.log(1 - math.random()) * mean_ms
end
