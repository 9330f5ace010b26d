-- wrk script: POST /v1/ads with a distinct title each time (identical ads would trip the
-- duplicate-flood rule). The token comes from the environment: ADSD_TOKEN.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ADSD_TOKEN")
counter = 0
request = function()
  counter = counter + 1
  local body = '{"title":"Winter boots ' .. counter .. '","description":"Warm and dry.",' ..
    '"landing_url":"https://shop.example.com/boots","category":"apparel","bid_cents":120,' ..
    '"currency":"USD","countries":["US","CA"]}'
  return wrk.format(nil, "/v1/ads", nil, body)
end
