-- wrk script: every request is a distinct, Zoom-signed zoomroom.sensor_data webhook.
--
-- Run as (bench/ingest.py does this):
--   wrk -t2 -c32 -d15s -s bench/wrk_sensor.lua http://127.0.0.1:P/webhooks/zoom -- \
--       secret=S threads=2 prefix=bench-room- rooms=1000 base=1767225600
--
-- Each wrk thread t (0-based) sends events n = t, t + threads, t + 2*threads, ...
-- so n is unique across threads; the event's room is <prefix><n % rooms> and its
-- readings' date_time is base + n seconds, which makes (room, date_time) unique
-- per request (the receiver under test is idempotent: a replayed body would
-- count once). Zoom's v0 signature is HMAC-SHA256(secret, "v0:<ts>:<body>"),
-- computed here by a pure LuaJIT SHA-256 (``bit`` library only).
--
-- offset=K shifts n by K (thread t then sends K + t, K + t + threads, ...), so
-- two runs with the same prefix can stay distinct.
--
-- rate=R (requests/s, all threads together; absent or 0: as fast as possible)
-- paces the load through wrk's delay() hook, which wrk calls before every
-- request on a connection and which returns the milliseconds to wait first.
-- The connections of one thread share a schedule of send slots spaced
-- threads*1000/R ms apart (each connection claims the next free slot once its
-- previous response is in), so each of N connections sends on average every
-- N*1000/R ms and the service time does not eat into the rate, as it would with
-- a fixed delay of N*1000/R (rate R*d/(d + service)). A slot already past is
-- taken now, without catching up on missed ones: when the server stalls for
-- longer than a connection's share of slots, the rate drops instead of
-- bursting. wrk starts each latency measurement when it writes the request, so
-- the histogram holds the service time of each request (send to complete
-- response), never the wait in delay(). Without LuaJIT's ffi (no monotonic
-- clock) the delay falls back to the fixed N*1000/R, with connections=N.
--
-- done() prints one line "WRKJSON {...}" with the counters, whether the
-- monotonic clock for pacing was there ("pacing_clock") and the latency
-- distribution (microseconds). With selftest=1, thread 0's init() prints
-- "SELFTEST <keylen> <msglen> <hex>" lines (HMAC of generated vectors) that
-- bench/ingest.py checks against Python's hmac before any benchmark run.

local bit = require("bit")
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local ror, rshift, lshift, tobit, tohex = bit.ror, bit.rshift, bit.lshift, bit.tobit, bit.tohex
local byte, char, rep, format = string.byte, string.char, string.rep, string.format
local floor = math.floor

-- SHA-256 -------------------------------------------------------------------

local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
for i = 1, 64 do K[i] = tobit(K[i]) end

local H0 = {
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}
for i = 1, 8 do H0[i] = tobit(H0[i]) end

local W = {}

-- Process the 64-byte block of s starting at 1-based index off into state H.
local function compress(H, s, off)
  for j = 1, 16 do
    local b1, b2, b3, b4 = byte(s, off, off + 3)
    W[j] = bor(lshift(b1, 24), lshift(b2, 16), lshift(b3, 8), b4)
    off = off + 4
  end
  for j = 17, 64 do
    local w15, w2 = W[j - 15], W[j - 2]
    local s0 = bxor(ror(w15, 7), ror(w15, 18), rshift(w15, 3))
    local s1 = bxor(ror(w2, 17), ror(w2, 19), rshift(w2, 10))
    W[j] = tobit(W[j - 16] + s0 + W[j - 7] + s1)
  end
  local a, b, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
  for j = 1, 64 do
    local S1 = bxor(ror(e, 6), ror(e, 11), ror(e, 25))
    local ch = bxor(band(e, f), band(bnot(e), g))
    local t1 = h + S1 + ch + K[j] + W[j]
    local S0 = bxor(ror(a, 2), ror(a, 13), ror(a, 22))
    local maj = bxor(band(a, b), band(a, c), band(b, c))
    h = g
    g = f
    f = e
    e = tobit(d + t1)
    d = c
    c = b
    b = a
    a = tobit(t1 + S0 + maj)
  end
  H[1] = tobit(H[1] + a)
  H[2] = tobit(H[2] + b)
  H[3] = tobit(H[3] + c)
  H[4] = tobit(H[4] + d)
  H[5] = tobit(H[5] + e)
  H[6] = tobit(H[6] + f)
  H[7] = tobit(H[7] + g)
  H[8] = tobit(H[8] + h)
end

local function be32(x)
  return char(band(rshift(x, 24), 255), band(rshift(x, 16), 255),
              band(rshift(x, 8), 255), band(x, 255))
end

-- Finish a hash whose state H has already absorbed `prefix_len` bytes (a
-- multiple of 64): absorb msg, pad for the total length, return the state.
local function finish(H, msg, prefix_len)
  local total = prefix_len + #msg
  local padlen = (64 - (total + 9) % 64) % 64
  local bits = total * 8
  local data = msg .. "\128" .. rep("\0", padlen)
    .. be32(floor(bits / 4294967296)) .. be32(bits % 4294967296)
  for off = 1, #data, 64 do
    compress(H, data, off)
  end
  return H
end

local function copy8(H)
  return { H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8] }
end

local function raw(H)
  return be32(H[1]) .. be32(H[2]) .. be32(H[3]) .. be32(H[4])
    .. be32(H[5]) .. be32(H[6]) .. be32(H[7]) .. be32(H[8])
end

local function hex(H)
  return tohex(H[1], 8) .. tohex(H[2], 8) .. tohex(H[3], 8) .. tohex(H[4], 8)
    .. tohex(H[5], 8) .. tohex(H[6], 8) .. tohex(H[7], 8) .. tohex(H[8], 8)
end

local function sha256(msg)
  return finish(copy8(H0), msg, 0)
end

-- HMAC-SHA256 with the key's inner and outer pad states computed once.
local function hmac_key(key)
  if #key > 64 then key = raw(sha256(key)) end
  key = key .. rep("\0", 64 - #key)
  local ipad, opad = {}, {}
  for i = 1, 64 do
    local k = byte(key, i)
    ipad[i] = char(bxor(k, 0x36))
    opad[i] = char(bxor(k, 0x5c))
  end
  local inner, outer = copy8(H0), copy8(H0)
  compress(inner, table.concat(ipad), 1)
  compress(outer, table.concat(opad), 1)
  return { inner = inner, outer = outer }
end

local function hmac_hex(keyed, msg)
  local inner = raw(finish(copy8(keyed.inner), msg, 64))
  return hex(finish(copy8(keyed.outer), inner, 64))
end

-- Self-test vectors: deterministic bytes so Python can regenerate them.
local function gen(len, mul, add)
  local t = {}
  for i = 0, len - 1 do t[#t + 1] = char((i * mul + add) % 256) end
  return table.concat(t)
end

local function selftest()
  local keylens = { 0, 4, 32, 63, 64, 65, 131 }
  local msglens = {}
  for i = 0, 130 do msglens[#msglens + 1] = i end
  msglens[#msglens + 1] = 1000
  for _, kl in ipairs(keylens) do
    local keyed = hmac_key(gen(kl, 7, 3))
    for _, ml in ipairs(msglens) do
      io.write(format("SELFTEST %d %d %s\n", kl, ml, hmac_hex(keyed, gen(ml, 13, 5))))
    end
  end
  io.write("SELFTEST-END\n")
  io.flush()
end

-- wrk hooks -----------------------------------------------------------------

local SENSORS = {
  { "CO2", 400, 800 }, { "TEMPERATURE", 18, 10 }, { "HUMIDITY", 30, 40 },
  { "VOC", 50, 400 }, { "AQI", 10, 90 }, { "PM25", 1, 40 }, { "PM10", 2, 60 },
  { "AIR_PRESSURE", 990, 40 }, { "REAL_TIME_PEOPLE_COUNT", 0, 12 },
}

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

local keyed, counter, step, prefix, rooms, base, path, hdrs

-- Pacing (rate=R) -------------------------------------------------------------

local has_ffi, ffi = pcall(require, "ffi")
local now_ms
if has_ffi then
  ffi.cdef([[
    typedef struct { long tv_sec; long tv_nsec; } zr_bench_timespec;
    int clock_gettime(int clock_id, zr_bench_timespec *tp);
  ]])
  local ts = ffi.new("zr_bench_timespec")
  local CLOCK_MONOTONIC = 1
  now_ms = function()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
end

local slot_ms, next_slot, fixed_ms

local function slot_delay()
  local now = now_ms()
  local slot = next_slot or now
  if slot < now then slot = now end
  next_slot = slot + slot_ms
  return floor(slot - now + 0.5)
end

local function fixed_delay()
  return fixed_ms
end

function init(args)
  local opts = {}
  for _, arg in ipairs(args) do
    local k, v = arg:match("^([^=]+)=(.*)$")
    if k then opts[k] = v end
  end
  local my_tid = tid or 0
  keyed = hmac_key(opts.secret or "")
  step = tonumber(opts.threads or "1")
  counter = tonumber(opts.offset or "0") + my_tid
  prefix = opts.prefix or "bench-room-"
  rooms = tonumber(opts.rooms or "1000")
  base = tonumber(opts.base or "1767225600")
  path = opts.path or wrk.path
  hdrs = { ["Content-Type"] = "application/json" }
  if opts.selftest == "1" and my_tid == 0 then selftest() end
  -- wrk asks whether a global delay() exists after thread 0's init(), so
  -- defining it here turns pacing on for every thread.
  local rate = tonumber(opts.rate or "0")
  if rate > 0 then
    if now_ms then
      slot_ms = step * 1000 / rate
      delay = slot_delay
    else
      fixed_ms = floor(tonumber(opts.connections or "1") * 1000 / rate + 0.5)
      delay = fixed_delay
    end
  end
end

local function body_for(n)
  local room = n % rooms
  local stamp = os.date("!%Y-%m-%dT%H:%M:%SZ", base + n)
  local readings = {}
  for i = 1, #SENSORS do
    local s = SENSORS[i]
    local value = s[2] + ((n * 7 + i * 13) % (s[3] * 10)) / 10
    readings[i] = format('{"date_time":"%s","sensor_type":"%s","sensor_value":"%.1f"}',
                         stamp, s[1], value)
  end
  return format('{"event":"zoomroom.sensor_data","event_ts":%d,"payload":{"account_id":'
    .. '"acct-bench","object":{"id":"%s%d","room_name":"Bench Room %d","device_id":"dev-%d",'
    .. '"sensor_data":[%s]}}}', (base + n) * 1000, prefix, room, room, room,
    table.concat(readings, ","))
end

function request()
  local n = counter
  counter = counter + step
  local body = body_for(n)
  local ts = tostring(os.time())
  hdrs["x-zm-request-timestamp"] = ts
  hdrs["x-zm-signature"] = "v0=" .. hmac_hex(keyed, "v0:" .. ts .. ":" .. body)
  return wrk.format("POST", path, hdrs, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(format('WRKJSON {"duration_us":%d,"requests":%d,"bytes":%d,"connect_errors":%d,'
    .. '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,'
    .. '"pacing_clock":%s,"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,'
    .. '"max":%d}}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, tostring(now_ms ~= nil), latency.mean, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
  io.flush()
end
