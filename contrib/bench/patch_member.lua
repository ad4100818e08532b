-- patch_member.lua - PATCH /Groups/{id}, one "add members" operation per
-- request, each adding a different user taken from a pool file.
--   wrk ... -s patch_member.lua URL -- GROUP_ID POOL_FILE TOKEN
-- Thread t uses pool lines t, t+nthreads, t+2*nthreads, ...; once its
-- share is used up it starts over (re-adds, which the server should answer
-- 204 too). The number of re-adds is printed at the end.
dofile((os.getenv("BENCH_LUA_DIR") or "contrib/bench") .. "/common.lua")

local pool, path, headers
local i = 0
readds = 0

function init(args)
   path = wrk.path:gsub("/$", "") .. "/Groups/" .. args[1]
   pool = read_lines(args[2])
   headers = {["Authorization"] = "Bearer " .. args[3],
              ["Content-Type"] = "application/scim+json",
              ["Accept"] = "application/scim+json"}
end

function request()
   local idx = tid + 1 + i * nthreads
   i = i + 1
   if idx > #pool then
      readds = readds + 1
      idx = ((idx - 1) % #pool) + 1
   end
   return wrk.format("PATCH", path, headers,
      '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],' ..
      '"Operations":[{"op":"add","path":"members","value":' ..
      '[{"value":"' .. pool[idx] .. '"}]}]}')
end
