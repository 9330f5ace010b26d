-- wrk script: GET /v1/ads/{id} for ids picked at random from the file ADSD_IDS_FILE (one per
-- line). The token comes from the environment: ADSD_TOKEN.
dofile((os.getenv("ADSD_WRK_DIR") or "bench/wrk") .. "/report.lua")
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("ADSD_TOKEN") or "")
ids = {}
for line in io.lines(os.getenv("ADSD_IDS_FILE")) do table.insert(ids, line) end

function init(args)
  math.randomseed(os.time() + (thread_id or 0) * 7919)
end

request = function()
  return wrk.format("GET", "/v1/ads/" .. ids[math.random(#ids)], nil, nil)
end
