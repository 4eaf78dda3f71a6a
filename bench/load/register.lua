-- wrk: durable POST /policies/cee (long), a distinct beneficiary per request (licence, phone,
-- identity key from a counter; RUN_PREFIX keeps runs apart). Counts non-201 answers.
local prefix = tonumber(os.getenv("RUN_PREFIX") or "1")
local token = os.getenv("TOKEN") or ""
local n = 0
local bad = 0

request = function()
  n = n + 1
  local id = prefix * 1000000 + n
  local body = string.format(
    '{"journey_type":"long","last_name_trunc":"ABC","phone_trunc":"+336%06d",' ..
    '"driving_license":"%012d","identity_key":"%s%016x",' ..
    '"datetime":"2024-06-01T00:00:00Z","application_timestamp":"2024-06-10T00:00:00Z"}',
    (prefix * 100000 + n) % 1000000, id, string.rep("0", 48), id)
  return wrk.format("POST", "/policies/cee",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end

response = function(status, headers, body)
  if status ~= 201 then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("register: " .. status .. " " .. body .. "\n") end
  end
end
