-- wrk: POST /policies/cee/simulate with an operator token (TOKEN env), one fixed driver.
wrk.method = "POST"
wrk.path = "/policies/cee/simulate"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
wrk.body = '{"journey_type":"long","phone_trunc":"+336273488","last_name_trunc":"ABC"}'
