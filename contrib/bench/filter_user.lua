-- filter_user.lua - GET /Users?filter=userName eq "<random existing>".
--   wrk ... -s filter_user.lua URL -- USERNAMES_FILE TOKEN
-- USERNAMES_FILE: one userName per line, already URL-encoded.
dofile((os.getenv("BENCH_LUA_DIR") or "contrib/bench") .. "/common.lua")

local names, base, headers

function init(args)
   names = read_lines(args[1])
   headers = {["Authorization"] = "Bearer " .. args[2],
              ["Accept"] = "application/scim+json"}
   base = wrk.path:gsub("/$", "") .. "/Users?filter=userName%20eq%20%22"
   math.randomseed(os.time() * 16 + tid + 8)
end

function request()
   return wrk.format("GET", base .. names[math.random(#names)] .. "%22",
                     headers)
end
