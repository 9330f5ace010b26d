-- wrk script: POST /v1/ads with a distinct title each time (identical ads would trip the
-- duplicate-flood rule). The token comes from the environment: ADSD_TOKEN.
dofile((os.getenv("ADSD_WRK_DIR") or "bench/wrk") .. "/report.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("ADSD_TOKEN") or "")
counter = 0
request = function()
  counter = counter + 1
  local body = '{"title":"Trail running shoes ' .. (thread_id or 0) .. '-' .. counter .. '",' ..
    '"description":"Light, grippy and waterproof: made for muddy trails.",' ..
    '"landing_url":"https://shop.example.com/shoes/trail","category":"apparel",' ..
    '"bid_cents":120,"currency":"EUR","countries":["FR","DE"]}'
  return wrk.format(nil, "/v1/ads", nil, body)
end
