// Real Node.js client libraries against a running server: node-redis
// (RESP2 and RESP3, client-side caching) and ioredis (RESP2).
// Usage: node clients.js <port>. Prints one line per check; exits non-zero
// at the first mismatch. Run by tests/clients_node.rs (npm ci first).
'use strict';

const assert = require('node:assert/strict');
const { createClient, defineScript, BasicClientSideCache } = require('redis');
const Redis = require('ioredis');

const port = Number(process.argv[2]);
if (!port) {
  console.error('usage: node clients.js <port>');
  process.exit(2);
}
const host = '127.0.0.1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let current = '';
function check(name) {
  current = name;
  console.log(`check: ${name}`);
}

// Resolves when `pred()` holds, polled every 10 ms for up to `ms`.
async function eventually(pred, ms = 3000) {
  const until = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > until) throw new Error(`timed out waiting (${current})`);
    await sleep(10);
  }
}

const versions = {
  redis: require('redis/package.json').version,
  ioredis: require('ioredis/package.json').version,
  node: process.version,
};

async function nodeRedis(resp) {
  const tag = `node-redis RESP${resp}`;
  const opts = { socket: { host, port }, RESP: resp, name: `nr${resp}` };
  const c = createClient({
    ...opts,
    scripts: {
      addTo: defineScript({
        SCRIPT: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
        NUMBER_OF_KEYS: 1,
        parseCommand(parser, key, by) {
          parser.pushKey(key);
          parser.push(String(by));
        },
        transformReply: undefined,
      }),
    },
  });
  c.on('error', (e) => console.error(`${tag} error event:`, e.message));
  check(`${tag}: connect (HELLO ${resp}, CLIENT SETINFO)`);
  await c.connect();
  assert.equal(await c.ping(), 'PONG');
  assert.equal(await c.clientGetName(), `nr${resp}`);
  const me = await c.clientInfo();
  assert.equal(me.name, `nr${resp}`);
  // CLIENT SETINFO is new in 7.2 (a 7.0 server, used to check this script,
  // refuses it and the client ignores that).
  const version = (await c.info('server')).match(/redis_version:(\S+)/)[1];
  if (version >= '7.2') {
    assert.equal(me.libName, 'node-redis');
    assert.equal(me.libVer, versions.redis);
  }
  assert.equal(Number(me.resp), resp);
  const p = `nr${resp}:`;

  check(`${tag}: strings, INCR, EXPIRE`);
  assert.equal(await c.set(`${p}s`, 'v'), 'OK');
  assert.equal(await c.get(`${p}s`), 'v');
  assert.equal(await c.get(`${p}missing`), null);
  assert.equal(await c.incr(`${p}n`), 1);
  assert.equal(await c.incrBy(`${p}n`, 41), 42);
  assert.equal(await c.expire(`${p}s`, 100), 1);
  const ttl = await c.ttl(`${p}s`);
  assert.ok(ttl > 98 && ttl <= 100, `ttl ${ttl}`);
  assert.equal(await c.set(`${p}s`, 'w', { NX: true }), null);

  check(`${tag}: hash, list, set, zset`);
  assert.equal(await c.hSet(`${p}h`, { a: '1', b: '2' }), 2);
  assert.deepEqual({ ...(await c.hGetAll(`${p}h`)) }, { a: '1', b: '2' });
  assert.equal(await c.hIncrBy(`${p}h`, 'a', 5), 6);
  assert.equal(await c.rPush(`${p}l`, ['x', 'y', 'z']), 3);
  assert.deepEqual(await c.lRange(`${p}l`, 0, -1), ['x', 'y', 'z']);
  assert.equal(await c.lPop(`${p}l`), 'x');
  assert.equal(await c.sAdd(`${p}set`, ['m1', 'm2', 'm2']), 2);
  assert.deepEqual((await c.sMembers(`${p}set`)).sort(), ['m1', 'm2']);
  assert.equal(await c.sIsMember(`${p}set`, 'm1'), 1);
  assert.equal(await c.zAdd(`${p}z`, [{ score: 2, value: 'b' }, { score: 1, value: 'a' }]), 2);
  assert.deepEqual(await c.zRangeWithScores(`${p}z`, 0, -1), [
    { value: 'a', score: 1 },
    { value: 'b', score: 2 },
  ]);
  assert.equal(await c.zScore(`${p}z`, 'b'), 2);

  check(`${tag}: MULTI/EXEC and execAsPipeline`);
  assert.deepEqual(
    await c.multi().set(`${p}m`, '1').incr(`${p}m`).get(`${p}m`).exec(),
    ['OK', 2, '2'],
  );
  assert.deepEqual(
    await c.multi().set(`${p}pl`, 'a').append(`${p}pl`, 'b').get(`${p}pl`).execAsPipeline(),
    ['OK', 2, 'ab'],
  );
  // Auto-pipelining: commands of one tick go out together.
  assert.deepEqual(
    await Promise.all([c.set(`${p}ap`, '1'), c.incr(`${p}ap`), c.get(`${p}ap`)]),
    ['OK', 2, '2'],
  );

  check(`${tag}: WATCH`);
  const w = c.duplicate();
  await w.connect();
  const other = c.duplicate();
  await other.connect();
  await w.watch(`${p}w`);
  assert.deepEqual(await w.multi().set(`${p}w`, 'mine').exec(), ['OK']);
  await w.watch(`${p}w`);
  await other.set(`${p}w`, 'theirs');
  await assert.rejects(w.multi().set(`${p}w`, 'mine').exec(), /watched keys has been changed/);
  assert.equal(await c.get(`${p}w`), 'theirs');

  check(`${tag}: scripts (EVALSHA, NOSCRIPT → EVAL)`);
  assert.equal(await c.scriptFlush(), 'OK');
  assert.equal(await c.addTo(`${p}lua`, 5), 5);
  assert.equal(await c.addTo(`${p}lua`, 2), 7);
  assert.equal(
    await c.eval("return {KEYS[1], ARGV[1], redis.call('GET', KEYS[1])}", {
      keys: [`${p}lua`],
      arguments: ['arg'],
    }).then((r) => r.map(String)).then((r) => r.join(',')),
    `${p}lua,arg,7`,
  );

  check(`${tag}: functions (FUNCTION LOAD, FCALL, FCALL_RO)`);
  const lib = `#!lua name=nr${resp}\n` +
    `redis.register_function('nr${resp}_set', function(k, a) return redis.call('SET', k[1], a[1]) end)\n` +
    `redis.register_function{function_name='nr${resp}_get', callback=function(k) return redis.call('GET', k[1]) end, flags={'no-writes'}}`;
  assert.equal(await c.functionLoad(lib, { REPLACE: true }), `nr${resp}`);
  assert.equal(await c.fCall(`nr${resp}_set`, { keys: [`${p}fn`], arguments: ['fv'] }), 'OK');
  assert.equal(await c.fCallRo(`nr${resp}_get`, { keys: [`${p}fn`] }), 'fv');

  check(`${tag}: Pub/Sub (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE)`);
  const sub = c.duplicate();
  await sub.connect();
  const got = [];
  await sub.subscribe(`${p}ch`, (msg, ch) => got.push(`${ch}=${msg}`));
  await sub.pSubscribe(`${p}pat*`, (msg, ch) => got.push(`p:${ch}=${msg}`));
  assert.equal(await c.publish(`${p}ch`, 'hello'), 1);
  assert.equal(await c.publish(`${p}pattern`, 'world'), 1);
  await eventually(() => got.length === 2);
  assert.deepEqual(got, [`${p}ch=hello`, `p:${p}pattern=world`]);
  await sub.unsubscribe(`${p}ch`);
  await sub.pUnsubscribe(`${p}pat*`);
  assert.equal(await c.publish(`${p}ch`, 'gone'), 0);
  await sub.sSubscribe(`${p}shard`, (msg, ch) => got.push(`s:${ch}=${msg}`));
  assert.equal(await c.sPublish(`${p}shard`, 'sharded'), 1);
  await eventually(() => got.length === 3);
  assert.equal(got[2], `s:${p}shard=sharded`);
  await sub.sUnsubscribe(`${p}shard`);

  check(`${tag}: BLPOP woken by another connection`);
  const blocked = w.blPop(`${p}bl`, 5);
  await sleep(50);
  await other.rPush(`${p}bl`, 'item');
  assert.deepEqual({ ...(await blocked) }, { key: `${p}bl`, element: 'item' });
  assert.equal(await w.blPop(`${p}bl`, 0.05), null);

  check(`${tag}: SCAN iterators`);
  for (let i = 0; i < 30; i++) await c.set(`${p}scan:${i}`, String(i));
  const keys = new Set();
  for await (const batch of c.scanIterator({ MATCH: `${p}scan:*`, COUNT: 7 })) {
    for (const k of [].concat(batch)) keys.add(k);
  }
  assert.equal(keys.size, 30);
  await c.hSet(`${p}bigh`, Object.fromEntries([...Array(20).keys()].map((i) => [`f${i}`, `${i}`])));
  let fields = 0;
  for await (const batch of c.hScanIterator(`${p}bigh`, { COUNT: 5 })) fields += [].concat(batch).length;
  assert.equal(fields, 20);
  let members = 0;
  for await (const batch of c.sScanIterator(`${p}set`)) members += [].concat(batch).length;
  assert.equal(members, 2);
  let zmembers = 0;
  for await (const batch of c.zScanIterator(`${p}z`)) zmembers += [].concat(batch).length;
  assert.equal(zmembers, 2);

  for (const x of [w, other, sub, c]) x.destroy();
}

// node-redis's client-side cache (RESP3 only): CLIENT TRACKING ON in the
// handshake, cached reads, and invalidation pushes for writes made by
// another client (plain commands and a script) and by the client itself.
async function nodeRedisCache() {
  const tag = 'node-redis client-side cache';
  check(`${tag}: connect with CLIENT TRACKING ON`);
  const cache = new BasicClientSideCache({ ttl: 0, maxEntries: 0 });
  const c = createClient({ socket: { host, port }, RESP: 3, clientSideCache: cache });
  c.on('error', (e) => console.error(`${tag} error event:`, e.message));
  await c.connect();
  const writer = createClient({ socket: { host, port } });
  await writer.connect();
  const info = await c.sendCommand(['CLIENT', 'TRACKINGINFO']);
  const flags = info.flags ?? info.get?.('flags');
  assert.ok([...flags].map(String).includes('on'), `tracking flags ${[...flags]}`);

  check(`${tag}: cached reads`);
  await writer.set('csc:a', '1');
  await writer.hSet('csc:h', { f: 'v1' });
  assert.equal(await c.get('csc:a'), '1');
  assert.equal(await c.get('csc:a'), '1');
  assert.equal(await c.hGet('csc:h', 'f'), 'v1');
  assert.equal(await c.hGet('csc:h', 'f'), 'v1');
  assert.equal(cache.stats().hitCount, 2, 'two cache hits');
  assert.equal(cache.stats().missCount, 2, 'two misses');
  assert.equal(cache.size(), 2);

  check(`${tag}: invalidation on another client's write`);
  await writer.set('csc:a', '2');
  await eventually(async () => (await c.get('csc:a')) === '2');
  await writer.hSet('csc:h', 'f', 'v2');
  await eventually(async () => (await c.hGet('csc:h', 'f')) === 'v2');

  check(`${tag}: multi-key and whole-hash reads`);
  await writer.mSet({ 'csc:m1': 'a', 'csc:m2': 'b' });
  const hits = cache.stats().hitCount;
  assert.deepEqual(await c.mGet(['csc:m1', 'csc:m2']), ['a', 'b']);
  assert.deepEqual(await c.mGet(['csc:m1', 'csc:m2']), ['a', 'b']);
  assert.deepEqual({ ...(await c.hGetAll('csc:h')) }, { f: 'v2' });
  assert.deepEqual({ ...(await c.hGetAll('csc:h')) }, { f: 'v2' });
  assert.equal(cache.stats().hitCount, hits + 2);
  await writer.set('csc:m2', 'B');
  await eventually(async () => (await c.mGet(['csc:m1', 'csc:m2'])).join() === 'a,B');
  await writer.hSet('csc:h', 'g', 'w');
  await eventually(async () => Object.keys({ ...(await c.hGetAll('csc:h')) }).length === 2);

  check(`${tag}: invalidation on a script's write`);
  assert.equal(await c.get('csc:a'), '2');
  await writer.eval("return redis.call('SET', KEYS[1], 'from-lua')", { keys: ['csc:a'] });
  await eventually(async () => (await c.get('csc:a')) === 'from-lua');

  check(`${tag}: invalidation on its own write and on expiry`);
  assert.equal(await c.get('csc:a'), 'from-lua');
  await c.set('csc:a', 'own');
  await eventually(async () => (await c.get('csc:a')) === 'own');
  await writer.set('csc:e', 'x', { PX: 100 });
  assert.equal(await c.get('csc:e'), 'x');
  await sleep(150);
  await eventually(async () => (await c.get('csc:e')) === null);

  check(`${tag}: FLUSHDB empties the cache`);
  assert.equal(await c.get('csc:a'), 'own');
  await writer.flushDb();
  await eventually(async () => cache.size() === 0 || (await c.get('csc:a')) === null);
  assert.equal(await c.get('csc:a'), null);

  c.destroy();
  writer.destroy();
}

async function ioredis() {
  const tag = 'ioredis';
  check(`${tag}: connect (INFO ready check waits for loading:0)`);
  const r = new Redis({ host, port, lazyConnect: true, connectionName: 'io' });
  r.on('error', (e) => console.error(`${tag} error event:`, e.message));
  await r.connect();
  assert.equal(r.status, 'ready');
  assert.equal(await r.ping(), 'PONG');
  assert.equal(await r.client('GETNAME'), 'io');
  const p = 'io:';

  check(`${tag}: strings, INCR, EXPIRE`);
  assert.equal(await r.set(`${p}s`, 'v'), 'OK');
  assert.equal(await r.get(`${p}s`), 'v');
  assert.equal(await r.incr(`${p}n`), 1);
  assert.equal(await r.expire(`${p}s`, 100), 1);
  assert.equal(await r.ttl(`${p}s`), 100);
  assert.equal(await r.set(`${p}s`, 'w', 'EX', 10, 'NX'), null);
  assert.equal(await r.getBuffer(`${p}s`).then((b) => b.toString()), 'v');

  check(`${tag}: hash, list, set, zset`);
  assert.equal(await r.hset(`${p}h`, 'a', '1', 'b', '2'), 2);
  assert.deepEqual(await r.hgetall(`${p}h`), { a: '1', b: '2' });
  assert.equal(await r.rpush(`${p}l`, 'x', 'y'), 2);
  assert.deepEqual(await r.lrange(`${p}l`, 0, -1), ['x', 'y']);
  assert.equal(await r.sadd(`${p}set`, 'a', 'b'), 2);
  assert.equal(await r.scard(`${p}set`), 2);
  assert.equal(await r.zadd(`${p}z`, 1, 'a', 2, 'b'), 2);
  assert.deepEqual(await r.zrange(`${p}z`, 0, -1, 'WITHSCORES'), ['a', '1', 'b', '2']);

  check(`${tag}: pipeline, MULTI/EXEC`);
  assert.deepEqual(
    await r.pipeline().set(`${p}p`, '1').incr(`${p}p`).get(`${p}p`).hget(`${p}s`, 'x').exec()
      .then((res) => res.map(([e, v]) => (e ? e.message.split(' ')[0] : v))),
    ['OK', 2, '2', 'WRONGTYPE'],
  );
  assert.deepEqual(await r.multi().set(`${p}m`, 'a').get(`${p}m`).exec(), [[null, 'OK'], [null, 'a']]);
  // A command refused at queueing time aborts the transaction (EXECABORT).
  await assert.rejects(r.multi().set(`${p}m`).get(`${p}m`).exec(), /EXECABORT/);

  check(`${tag}: auto-pipelining and Buffer replies`);
  const ap = new Redis({ host, port, enableAutoPipelining: true });
  assert.deepEqual(
    await Promise.all([ap.set(`${p}ap`, '1'), ap.incr(`${p}ap`), ap.get(`${p}ap`), ap.getBuffer(`${p}ap`)])
      .then((v) => v.map(String)),
    ['OK', '2', '2', '2'],
  );
  const bin = Buffer.from([0, 1, 2, 255, 13, 10]);
  assert.equal(await ap.set(Buffer.from('io:bin'), bin), 'OK');
  assert.ok((await ap.getBuffer('io:bin')).equals(bin));
  ap.disconnect();

  check(`${tag}: WATCH`);
  const w = r.duplicate();
  const other = r.duplicate();
  await w.watch(`${p}w`);
  await other.set(`${p}w`, 'theirs');
  assert.equal(await w.multi().set(`${p}w`, 'mine').exec(), null);
  await w.watch(`${p}w`);
  assert.deepEqual(await w.multi().set(`${p}w`, 'mine').exec(), [[null, 'OK']]);

  check(`${tag}: defineCommand (EVALSHA, NOSCRIPT → EVAL)`);
  r.defineCommand('addTo', {
    numberOfKeys: 1,
    lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  });
  assert.equal(await r.script('FLUSH'), 'OK');
  assert.equal(await r.addTo(`${p}lua`, 5), 5);
  assert.equal(await r.addTo(`${p}lua`, 2), 7);
  assert.equal(await r.script('FLUSH'), 'OK');
  assert.deepEqual(await r.pipeline().addTo(`${p}lua`, 1).addTo(`${p}lua`, 1).exec(), [
    [null, 8],
    [null, 9],
  ]);
  await assert.rejects(r.eval("return redis.call('NOPE')", 0), /Unknown Redis command called from script/);

  check(`${tag}: Pub/Sub (SUBSCRIBE, PSUBSCRIBE)`);
  const sub = r.duplicate();
  const got = [];
  sub.on('message', (ch, msg) => got.push(`${ch}=${msg}`));
  sub.on('pmessage', (pat, ch, msg) => got.push(`${pat}:${ch}=${msg}`));
  assert.equal(await sub.subscribe(`${p}ch`), 1);
  assert.equal(await sub.psubscribe(`${p}pat*`), 2);
  assert.equal(await r.publish(`${p}ch`, 'hello'), 1);
  assert.equal(await r.publish(`${p}pattern`, 'world'), 1);
  await eventually(() => got.length === 2);
  assert.deepEqual(got, [`${p}ch=hello`, `${p}pat*:${p}pattern=world`]);

  check(`${tag}: BLPOP woken by another connection`);
  const blocked = w.blpop(`${p}bl`, 5);
  await sleep(50);
  await other.rpush(`${p}bl`, 'item');
  assert.deepEqual(await blocked, [`${p}bl`, 'item']);
  assert.equal(await w.blpop(`${p}bl`, 0.05), null);

  check(`${tag}: scanStream, hscanStream, sscanStream, zscanStream`);
  for (let i = 0; i < 30; i++) await r.set(`${p}scan:${i}`, i);
  const collect = (stream) =>
    new Promise((resolve, reject) => {
      const all = [];
      stream.on('data', (batch) => all.push(...batch));
      stream.on('end', () => resolve(all));
      stream.on('error', reject);
    });
  assert.equal(new Set(await collect(r.scanStream({ match: `${p}scan:*`, count: 7 }))).size, 30);
  assert.equal((await collect(r.hscanStream(`${p}h`))).length, 4);
  assert.equal((await collect(r.sscanStream(`${p}set`))).length, 2);
  assert.equal((await collect(r.zscanStream(`${p}z`))).length, 4);

  for (const x of [w, other, sub, r]) x.disconnect();
}

(async () => {
  console.log(`versions: node-redis ${versions.redis}, ioredis ${versions.ioredis}, node ${versions.node}`);
  const admin = createClient({ socket: { host, port } });
  await admin.connect();
  await admin.flushAll();
  admin.destroy();
  await nodeRedis(2);
  await nodeRedis(3);
  await nodeRedisCache();
  await ioredis();
  console.log('ok');
  process.exit(0);
})().catch((e) => {
  console.error(`FAILED at "${current}":`, e && e.stack ? e.stack : e);
  process.exit(1);
});
