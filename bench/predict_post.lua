-- wrk script: POST /predict with one 28x28 PNG as multipart field "image" (seed 003's contract),
-- on keep-alive connections. The PNG path comes from the environment (HDR_BENCH_PNG).
local path = os.getenv("HDR_BENCH_PNG")
local file = assert(io.open(path, "rb"), "HDR_BENCH_PNG must name a PNG file")
local png = file:read("*a")
file:close()
local boundary = "hdrbenchboundary"
wrk.method = "POST"
wrk.path = "/predict"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\r\n" ..
  "Content-Disposition: form-data; name=\"image\"; filename=\"digit.png\"\r\n" ..
  "Content-Type: image/png\r\n\r\n" .. png .. "\r\n--" .. boundary .. "--\r\n"

-- Every answer must be a success: a server that answers fast with errors measures nothing.
local failures = 0
response = function(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("non-200 answers: %d\n", failures))
end
