-- wrk script for the load benchmark: POSTs one fixed body and prints a JSON summary.
-- BENCH_FIELDS="image=path.png" (multipart, ';'-separated) or BENCH_JSON="path.json".
local boundary = "handcalc-bench-boundary"

local function read(path)
  local handle = assert(io.open(path, "rb"))
  local data = handle:read("*a")
  handle:close()
  return data
end

wrk.method = "POST"
local json_path = os.getenv("BENCH_JSON")
if json_path and json_path ~= "" then
  wrk.body = read(json_path)
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
else
  local parts = {}
  for name, path in string.gmatch(os.getenv("BENCH_FIELDS") or "", "([^=;]+)=([^;]+)") do
    parts[#parts + 1] = "--" .. boundary .. "\r\n"
      .. 'Content-Disposition: form-data; name="' .. name .. '"; filename="digit.png"\r\n'
      .. "Content-Type: image/png\r\n\r\n" .. read(path) .. "\r\n"
  end
  wrk.body = table.concat(parts) .. "--" .. boundary .. "--\r\n"
  wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "socket_errors": %d, "non_2xx": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
