package redis

import goredis "github.com/redis/go-redis/v9"

// Lua for the grant records. KEYS[1] is a record hash, KEYS[2] the user's
// index set (same hash tag). Counts are read back with HGET, as strings,
// because Lua numbers are doubles and would round counts above 2^53.

// grantPrelude is shared by the scripts that create or extend a record.
// ARGV[1] is the TTL in ms (0: never), ARGV[2] the generation for a new
// record, ARGV[3] the template id.
const grantPrelude = `
local function prepare()
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl == -2 then
    redis.call('HSET', KEYS[1], 'n', '0', 'lt', '0', 'g', ARGV[2])
  end
  return pttl
end

-- settle applies the TTL rule (never stays never; 0 makes never; a longer
-- TTL extends) and keeps the index set alive at least as long as the record.
local function settle(pttl)
  local ttl = tonumber(ARGV[1])
  if ttl == 0 then
    if pttl >= 0 then redis.call('PERSIST', KEYS[1]) end
  elseif pttl == -2 or (pttl >= 0 and pttl < ttl) then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
  local ipttl = redis.call('PTTL', KEYS[2])
  redis.call('SADD', KEYS[2], ARGV[3])
  local rpttl = redis.call('PTTL', KEYS[1])
  if rpttl == -1 then
    redis.call('PERSIST', KEYS[2])
  elseif ipttl ~= -1 and ipttl < rpttl then
    redis.call('PEXPIRE', KEYS[2], rpttl)
  end
end
`

// addOneTimeLua: ARGV[4] is n. Returns the new count as a string, or -1
// when it would overflow.
const addOneTimeLua = grantPrelude + addOneTimeBody

const addOneTimeBody = `
local pttl = prepare()
local r = redis.pcall('HINCRBY', KEYS[1], 'n', ARGV[4])
if type(r) == 'table' and r.err then
  if pttl == -2 then redis.call('DEL', KEYS[1]) end
  if string.find(r.err, 'overflow', 1, true) then return -1 end
  return r
end
settle(pttl)
return redis.call('HGET', KEYS[1], 'n')
`

const setLongTermLua = grantPrelude + setLongTermBody

const setLongTermBody = `
local pttl = prepare()
redis.call('HSET', KEYS[1], 'lt', '1')
settle(pttl)
return 1
`

// consumeLua returns "" (no grant), or the kind ("1" one-time, "2"
// long-term) followed by the generation: one string is the cheapest reply
// to build and to parse.
const consumeLua = `
local v = redis.call('HMGET', KEYS[1], 'n', 'lt', 'g')
if not v[3] then return '' end
if v[2] == '1' then return '2' .. v[3] end
local n = tonumber(v[1])
if not n or n < 1 then return '' end
redis.call('HINCRBY', KEYS[1], 'n', -1)
return '1' .. v[3]
`

// refundLua adds one back if the record still has generation ARGV[1].
const refundLua = `
if redis.call('HGET', KEYS[1], 'g') ~= ARGV[1] then return 0 end
local r = redis.pcall('HINCRBY', KEYS[1], 'n', 1)
if type(r) == 'table' and r.err and not string.find(r.err, 'overflow', 1, true) then return r end
return 1
`

// getLua returns 0 (no record) or {n, lt, pttl}.
const getLua = `
local v = redis.call('HMGET', KEYS[1], 'n', 'lt', 'g')
if not v[3] then return 0 end
return {v[1] or '0', v[2] or '0', redis.call('PTTL', KEYS[1])}
`

// listLua: KEYS[1] is the index, ARGV[1] the record key prefix. Returns a
// flat {template, n, lt, pttl, ...} and drops index entries whose record
// expired.
const listLua = `
local out = {}
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[1] .. m
  local v = redis.call('HMGET', k, 'n', 'lt', 'g')
  if v[3] then
    out[#out + 1] = m
    out[#out + 1] = v[1] or '0'
    out[#out + 1] = v[2] or '0'
    out[#out + 1] = redis.call('PTTL', k)
  else
    redis.call('SREM', KEYS[1], m)
  end
end
return out
`

// revokeLua deletes the record, then rebuilds the index's TTL from the
// records that remain. ARGV[1] is the template id, ARGV[2] the record key
// prefix.
const revokeLua = `
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
local never, longest = false, 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local p = redis.call('PTTL', ARGV[2] .. m)
  if p == -2 then
    redis.call('SREM', KEYS[2], m)
  elseif p == -1 then
    never = true
  elseif p > longest then
    longest = p
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  if never then
    redis.call('PERSIST', KEYS[2])
  else
    redis.call('PEXPIRE', KEYS[2], math.max(longest, 1))
  end
end
return 1
`

// deleteUserLua: KEYS[1] is the index of records, KEYS[2] the index of
// ConsumeOnce operations; ARGV[1] and ARGV[2] their key prefixes.
const deleteUserLua = `
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('DEL', ARGV[1] .. m)
end
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  redis.call('DEL', ARGV[2] .. m)
end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`

// consumeOnceLua is consumeLua once per operation key. KEYS[1] is the
// record, KEYS[2] the operation record (a hash: t template, k kind, s
// settlement, g generation), KEYS[3] the user's index of operations (a
// sorted set of operation keys scored by their expiry in unix ms on the
// server's clock, so that the script drops the expired ones as it adds).
// ARGV[1] is the template id, ARGV[2] the operation TTL in ms, ARGV[3]
// the operation key. Returns "" (no grant, nothing recorded), "x" and the
// recorded template when that is not ARGV[1], or the recorded (or new)
// receipt: its kind, its settlement and its generation in one string.
const consumeOnceLua = `
local function consume()
` + consumeLua + `
end
local h = redis.call('HMGET', KEYS[2], 't', 'k', 's', 'g')
if h[1] then
  if h[1] ~= ARGV[1] then return 'x' .. h[1] end
  return (h[2] or '') .. (h[3] or '') .. (h[4] or '')
end
local r = consume()
if r == '' then return '' end
local kind, gen = string.sub(r, 1, 1), string.sub(r, 2)
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[2], 't', ARGV[1], 'k', kind, 's', '0', 'g', gen)
redis.call('PEXPIRE', KEYS[2], ttl)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
-- One ms past the record's own expiry, which Redis counts from the same
-- clock a moment later.
redis.call('ZADD', KEYS[3], now + ttl + 1, ARGV[3])
if redis.call('PTTL', KEYS[3]) < ttl + 1 then
  redis.call('PEXPIRE', KEYS[3], ttl + 1)
end
return kind .. '0' .. gen
`

// settleLua settles a receipt once. KEYS[1] is the record, KEYS[2] the
// user's index of records, KEYS[3] the operation record; ARGV[1] is the
// template id and ARGV[2] the record key prefix (as for revokeLua), ARGV[3]
// the receipt's kind, ARGV[4] its generation, ARGV[5] the settlement
// ("1" kept, "2" refunded, "3" revoked). Returns "" when no operation
// record matches the receipt, else the settlement in force. HSET keeps
// the operation record's TTL.
const settleLua = `
local function revoke()
` + revokeLua + `
end
local h = redis.call('HMGET', KEYS[3], 't', 'k', 'g', 's')
if h[1] ~= ARGV[1] or h[2] ~= ARGV[3] or h[3] ~= ARGV[4] then return '' end
if h[4] ~= '0' then return h[4] or '?' end
if ARGV[5] == '2' then
  -- refundLua's rule: one-time grants go back to their own record only.
  if ARGV[3] == '1' and redis.call('HGET', KEYS[1], 'g') == ARGV[4] then
    local r = redis.pcall('HINCRBY', KEYS[1], 'n', 1)
    if type(r) == 'table' and r.err and not string.find(r.err, 'overflow', 1, true) then return r end
  end
elseif ARGV[5] == '3' then
  revoke()
end
redis.call('HSET', KEYS[3], 's', ARGV[5])
return ARGV[5]
`

// invalidateTokenLua deletes KEYS[1] if its access token (after the
// "<ms>:" expiry) is ARGV[1].
const invalidateTokenLua = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local i = string.find(v, ':', 1, true)
if i and string.sub(v, i + 1) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`

// deleteIfEqualLua deletes KEYS[1] if it holds ARGV[1]: lease release and
// dedupe abort.
const deleteIfEqualLua = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`

// beginLua claims KEYS[1] for ARGV[1] ms. Returns 1 (new), 2 (in flight)
// or 3 (done), the values of store.DedupeState.
const beginLua = `
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'inflight', 'PX', ARGV[1])
  return 1
end
if v == 'done' then return 3 end
return 2
`

// extendLua sets the expiry of KEYS[1] to ARGV[1] ms if it is in flight.
// Returns 1 (no claim), 2 (extended) or 3 (done), the values of
// store.DedupeState.
const extendLua = `
local v = redis.call('GET', KEYS[1])
if not v then return 1 end
if v == 'done' then return 3 end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 2
`

// scripts holds the compiled scripts of one Store.
type scripts struct {
	addOneTime, setLongTerm, consume, refund, get, list, revoke, deleteUser *goredis.Script
	addOnce, setLongTermOnce, revokeOnce, consumeOnce, settle               *goredis.Script
	invalidateToken, deleteIfEqual, begin, extend                           *goredis.Script
}

func newScripts() *scripts {
	return &scripts{
		addOneTime:      goredis.NewScript(addOneTimeLua),
		setLongTerm:     goredis.NewScript(setLongTermLua),
		consume:         goredis.NewScript(consumeLua),
		refund:          goredis.NewScript(refundLua),
		get:             goredis.NewScript(getLua),
		list:            goredis.NewScript(listLua),
		revoke:          goredis.NewScript(revokeLua),
		addOnce:         goredis.NewScript(grantPrelude + once(addOneTimeBody)),
		setLongTermOnce: goredis.NewScript(grantPrelude + once(setLongTermBody)),
		revokeOnce:      goredis.NewScript(once(revokeLua)),
		consumeOnce:     goredis.NewScript(consumeOnceLua),
		settle:          goredis.NewScript(settleLua),
		deleteUser:      goredis.NewScript(deleteUserLua),
		invalidateToken: goredis.NewScript(invalidateTokenLua),
		deleteIfEqual:   goredis.NewScript(deleteIfEqualLua),
		begin:           goredis.NewScript(beginLua),
		extend:          goredis.NewScript(extendLua),
	}
}

// once turns a grant script's body into one that runs at most once per
// operation key: KEYS[3] is the key (in the user's hash slot), the last ARGV
// its TTL in ms. The check, the change and the key's record are one script,
// so a caller whose reply was lost can run it again safely. It returns
// "dup" when the key was seen, else what the body returns (a body's error
// or its -1 overflow answer leaves the key unrecorded).
func once(body string) string {
	return `
local function change()
` + body + `
end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'dup' end
local r = change()
if r == -1 or (type(r) == 'table' and r.err) then return r end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[#ARGV])
return r
`
}
