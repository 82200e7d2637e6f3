-- GET BENCH_PATH with "{id}" replaced by each line of BENCH_IDS_FILE in turn (requests pre-built).
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local ids = common.read_lines(os.getenv("BENCH_IDS_FILE"))
local template = os.getenv("BENCH_PATH")
local headers = common.headers(false)
local requests = {}
for k, id in ipairs(ids) do
  requests[k] = wrk.format("GET", (template:gsub("{id}", id)), headers, nil)
end
local i = 0
request = function()
  i = i + 1
  return requests[(i % #requests) + 1]
end
done = common.done
