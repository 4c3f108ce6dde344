-- For bench/load.sh: wrk counts only 4xx and 5xx as errors, so a redirect to the login page would
-- pass for a fast page. This counts every response by its status, and when the run is done prints
-- one line, "wrk-summary {json}": requests per second, p50 and p99 in ms, the statuses and the
-- socket errors.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  local counts = {}
  for status, count in pairs(totals) do
    counts[#counts + 1] = string.format('"%d": %d', status, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'wrk-summary {"requests_per_second": %.1f, "p50_ms": %.2f, "p99_ms": %.2f, "requests": %d, ' ..
    '"statuses": {%s}, "socket_errors": %d}\n',
    summary.requests / summary.duration * 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, table.concat(counts, ", "), errors.connect + errors.read + errors.write + errors.timeout))
end
