package asynqengine

import "github.com/redis/go-redis/v9"

// The job record is a Redis hash per job key, <Prefix>:job:<key>, written
// only by these scripts, each of which touches that one key (so they run on
// Redis Cluster too). Its fields:
//
//	q       the asynq queue of the job's task (the job's priority)
//	status  the job's Status, as last written (kept outside the JSON so
//	        that the scripts can read it)
//	job     the job, JSON
//	at      the job's At in Unix milliseconds
//	run     the id of the run holding the job, or "" when none does
//	v       a version, increased by every write
//
// asynq has no place for these facts that its own scripts keep atomic with
// the task's state (see the package documentation), so the engine keeps
// them here, in scripts of its own.

// claimScript creates the record of a new job, unless the key has one.
//
//	ARGV: q, job, at
//	returns 1 when it created the record, or {q, status, run, job}
var claimScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HMGET', KEYS[1], 'q', 'status', 'run', 'job')
end
redis.call('HSET', KEYS[1], 'q', ARGV[1], 'status', 'scheduled', 'run', '',
  'job', ARGV[2], 'at', ARGV[3], 'v', 1)
return 1
`)

// startScript takes the job for a run of its task, atomically with
// respect to Cancel.
//
//	ARGV: q, run id, now (Unix ms)
//	returns {'missing'}: no record (see Engine.process)
//	        {'other', q}: the record belongs to the key's task in queue q
//	        {'final', status, job}: the job has ended; nothing to run
//	        {'early', at}: the job is not due yet
//	        {'run', status, job, previous run id}: the run holds the job
var startScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
local f = redis.call('HMGET', KEYS[1], 'q', 'status', 'run', 'job', 'at')
if f[1] ~= ARGV[1] then
  return {'other', f[1] or ''}
end
local s = f[2]
if s == 'delivered' or s == 'failed' or s == 'unknown' or s == 'cancelled' then
  return {'final', s, f[4]}
end
local at = tonumber(f[5]) or 0
if at > tonumber(ARGV[3]) then
  return {'early', tostring(at)}
end
redis.call('HSET', KEYS[1], 'run', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'v', 1)
return {'run', s, f[4], f[3] or ''}
`)

// writeScript records the job's state for the run holding it: Save, and
// the run's result (which also lets the job go, and starts the retention
// of a final one).
//
//	ARGV: run id, status, job, at, release (1 or 0), ttl (ms, 0 for none)
//	returns 'ok', 'missing', or 'lost' (another run holds the job now)
var writeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 'missing'
end
if redis.call('HGET', KEYS[1], 'run') ~= ARGV[1] then
  return 'lost'
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'job', ARGV[3], 'at', ARGV[4])
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'run', '')
end
redis.call('HINCRBY', KEYS[1], 'v', 1)
local ttl = tonumber(ARGV[6])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 'ok'
`)

// cancelScript ends a job that no run holds, if the record is still the
// version its caller read.
//
//	ARGV: version read, cancelled job, ttl (ms)
//	returns 'ok', 'missing', 'final' (ended before), 'running', or
//	'changed' (written since it was read: read it again)
var cancelScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 'missing'
end
local f = redis.call('HMGET', KEYS[1], 'status', 'run', 'v')
local s = f[1]
if s == 'delivered' or s == 'failed' or s == 'unknown' or s == 'cancelled' then
  return 'final'
end
if f[2] and f[2] ~= '' then
  return 'running'
end
if f[3] ~= ARGV[1] then
  return 'changed'
end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'job', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 'ok'
`)
