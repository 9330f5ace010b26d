-- wrk script: 90 % GET /v1/ads/{id} (ids from ADSD_IDS_FILE), 10 % POST /v1/ads.
dofile((os.getenv("ADSD_WRK_DIR") or "bench/wrk") .. "/report.lua")
local token = "Bearer " .. (os.getenv("ADSD_TOKEN") or "")
ids = {}
for line in io.lines(os.getenv("ADSD_IDS_FILE")) do table.insert(ids, line) end
counter = 0

function init(args)
  math.randomseed(os.time() + (thread_id or 0) * 7919)
end

request = function()
  counter = counter + 1
  if math.random(10) == 1 then
    local body = '{"title":"Trail running shoes m' .. (thread_id or 0) .. '-' .. counter .. '",' ..
      '"description":"Light, grippy and waterproof: made for muddy trails.",' ..
      '"landing_url":"https://shop.example.com/shoes/trail","category":"apparel",' ..
      '"bid_cents":120,"currency":"EUR","countries":["FR","DE"]}'
    return wrk.format("POST", "/v1/ads", {["Authorization"] = token, ["Content-Type"] = "application/json"}, body)
  end
  return wrk.format("GET", "/v1/ads/" .. ids[math.random(#ids)], {["Authorization"] = token}, nil)
end
