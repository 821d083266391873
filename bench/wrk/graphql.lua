-- POSTs a GraphQL request to /graphql. BODY_FILE holds the JSON body; when it
-- contains {ID}, each request substitutes one of the IDs listed in IDS_FILE
-- (one per line), drawn at random. TOKEN is the bearer token.
-- At the end, prints one line: requests seconds p50_ms p99_ms errors bytes.
local body = io.open(os.getenv("BODY_FILE")):read("*a")
local ids = {}
local ids_file = os.getenv("IDS_FILE")
if ids_file and ids_file ~= "" then
  for line in io.lines(ids_file) do ids[#ids + 1] = line end
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = body

if #ids > 0 then
  local counter = 0
  request = function()
    counter = counter + 1
    local id = ids[1 + (math.random(#ids) - 1)]
    return wrk.format(nil, nil, nil, (body:gsub("{ID}", id)))
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.3f %.3f %.3f %d %d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout, summary.bytes))
end
