-- get_user.lua - GET /Users/{id} for random existing ids.
--   wrk ... -s get_user.lua URL -- IDS_FILE TOKEN
-- IDS_FILE: one user id per line. URL: http://HOST:PORT/scim/v2
-- Also used, unchanged, against the canned server (which ignores path and
-- token) so the ceiling pays the same client-side cost.
dofile((os.getenv("BENCH_LUA_DIR") or "contrib/bench") .. "/common.lua")

local ids, base, headers

function init(args)
   ids = read_lines(args[1])
   headers = {["Authorization"] = "Bearer " .. args[2],
              ["Accept"] = "application/scim+json"}
   base = wrk.path:gsub("/$", "") .. "/Users/"
   math.randomseed(os.time() * 16 + tid)
end

function request()
   return wrk.format("GET", base .. ids[math.random(#ids)], headers)
end
