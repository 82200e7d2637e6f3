-- One fixed request (BENCH_METHOD, BENCH_PATH, optional BENCH_BODY), built once by wrk.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local body = os.getenv("BENCH_BODY")
if body == "" then
  body = nil
end
wrk.method = os.getenv("BENCH_METHOD")
wrk.path = os.getenv("BENCH_PATH")
wrk.body = body
wrk.headers = common.headers(body ~= nil)
done = common.done
