-- POST change-plan to each subscription of BENCH_IDS_FILE in turn. Round r (one pass over all
-- subscriptions) moves to plan BENCH_PLANS[r % 2] with quantity r % 5 + 1, so no request is a
-- no-op (consecutive rounds differ in plan). Use one wrk thread so the counter is global.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local subs = common.read_lines(os.getenv("BENCH_IDS_FILE"))
local plans = {}
for p in string.gmatch(os.getenv("BENCH_PLANS"), "[^,]+") do
  plans[#plans + 1] = p
end
local template = os.getenv("BENCH_PATH")
local headers = common.headers(true)
local paths = {}
for k, id in ipairs(subs) do
  paths[k] = (template:gsub("{id}", id))
end
local i = 0
request = function()
  local n = #paths
  local round = math.floor(i / n)
  local path = paths[(i % n) + 1]
  i = i + 1
  local body = string.format('{"newPlanId": "%s", "quantity": %d}', plans[(round % 2) + 1], (round % 5) + 1)
  return wrk.format("POST", path, headers, body)
end
done = common.done
