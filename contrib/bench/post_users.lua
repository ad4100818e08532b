-- post_users.lua - POST /Users with realistic (Entra ID / Okta-like)
-- bodies: name, emails, phone, address, enterprise extension.
--   wrk ... -s post_users.lua URL -- PREFIX TOKEN
-- userName = PREFIX.t<tid>.<n>@bench.example.com, unique per thread and
-- request; use a different PREFIX for every run against the same store.
dofile((os.getenv("BENCH_LUA_DIR") or "contrib/bench") .. "/common.lua")

local prefix, path, headers
local n = 0
local given = {"Adele", "Alex", "Allan", "Bianca", "Christie", "Debra",
               "Diego", "Emily", "Enrico", "Grady", "Henrietta", "Irvin",
               "Isaiah", "Johanna", "Joni", "Lee", "Lidia", "Lynne",
               "Megan", "Miriam", "Nestor", "Patti", "Pradeep", "Raul"}
local family = {"Vance", "Wilber", "Deyoung", "Pai", "Cline", "Berry",
                "Siciliani", "Braun", "Rossi", "Mccanless", "Schmidt",
                "Sapp", "Langer", "Lauer", "Sherman", "Gu", "Olsen",
                "Gaines", "Bowen", "Gonzalez", "Garcia", "Patel", "Diaz"}
local depts = {"Engineering", "Sales", "Marketing", "Finance", "Legal",
               "Human Resources", "Operations", "Support", "Research"}
local cities = {{"Redmond", "WA", "98052"}, {"Seattle", "WA", "98101"},
                {"Austin", "TX", "78701"}, {"Boston", "MA", "02110"},
                {"Chicago", "IL", "60601"}, {"Denver", "CO", "80202"}}

local function pick(t, i)
   return t[(i % #t) + 1]
end

function init(args)
   prefix = args[1]
   headers = {["Authorization"] = "Bearer " .. args[2],
              ["Content-Type"] = "application/scim+json",
              ["Accept"] = "application/scim+json"}
   path = wrk.path:gsub("/$", "") .. "/Users"
end

function request()
   n = n + 1
   local k = tid * 1000003 + n
   local g, f = pick(given, k), pick(family, k * 7 + 3)
   local key = string.format("%s.t%d.%d", prefix, tid, n)
   local user = key .. "@bench.example.com"
   local c = pick(cities, k)
   local body = string.format(
      '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",' ..
      '"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],' ..
      '"externalId":"%08x-%04x-4%03x-8%03x-%012x",' ..
      '"userName":"%s","active":true,"displayName":"%s %s",' ..
      '"name":{"formatted":"%s %s","familyName":"%s","givenName":"%s"},' ..
      '"title":"Engineer %d","preferredLanguage":"en-US",' ..
      '"emails":[{"primary":true,"type":"work","value":"%s"}],' ..
      '"phoneNumbers":[{"type":"work","value":"+1 425 555 %04d"},' ..
      '{"type":"mobile","value":"+1 206 555 %04d"}],' ..
      '"addresses":[{"type":"work","formatted":"1 Main St, %s, %s %s, US",' ..
      '"streetAddress":"1 Main St","locality":"%s","region":"%s",' ..
      '"postalCode":"%s","country":"US","primary":true}],' ..
      '"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":' ..
      '{"employeeNumber":"%d","department":"%s","costCenter":"CC%03d",' ..
      '"organization":"Contoso","division":"Division %d"}}',
      k % 0xffffffff, tid, n % 4096, (n * 7) % 4096, n,
      user, g, f, g, f, f, g, k % 9, user, n % 10000, (n * 3) % 10000,
      c[1], c[2], c[3], c[1], c[2], c[3],
      k, pick(depts, k), k % 1000, k % 12)
   return wrk.format("POST", path, headers, body)
end
