# The two EVALSHA workloads of scripts/bench-script.sh and bench-instr.sh
# (sourced by both).
#   RATE  rate limiter: INCR a counter, EXPIRE it on first use, return the count
#   LOCK  lock release: DEL the lock only if it holds our token
RATE="local n = redis.call('incr', KEYS[1]) if n == 1 then redis.call('expire', KEYS[1], 60) end return n"
LOCK="if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
