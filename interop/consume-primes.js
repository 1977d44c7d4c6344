#!/usr/bin/env node
// A client no one on the distpipe team wrote (kafkajs + @kafkajs/confluent-schema-registry) reads a distpipe topic:
// Avro values in the Confluent wire format, schemas fetched from the registry by id. Prints each prime in decimal,
// one per line, on stdout; a summary goes to stderr.
//
//   node consume-primes.js --bootstrap localhost:9092 --registry http://localhost:8081/apis/ccompat/v7 \
//        [--topic primes.unique] [--idle-ms 3000] [--timeout-ms 60000] [--json]
//
// It reads committed records from the beginning (a fresh consumer group, nothing committed) and stops once no record
// arrived for --idle-ms after the first, or after --timeout-ms in all. Exit 0 ok, 1 failure, 2 usage.
'use strict';

const { Kafka, logLevel } = require('kafkajs');
const { SchemaRegistry } = require('@kafkajs/confluent-schema-registry');

function usage(message) {
  process.stderr.write(`consume-primes: ${message}\n`);
  process.stderr.write('usage: node consume-primes.js --bootstrap HOST:PORT --registry URL [--topic T] '
    + '[--idle-ms MS] [--timeout-ms MS] [--json]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const options = { topic: 'primes.unique', idleMs: 3000, timeoutMs: 60000, json: false };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${name} needs a value`);
      return argv[++i];
    };
    const number = () => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) usage(`${name} must be a positive integer`);
      return n;
    };
    switch (name) {
      case '--bootstrap': options.bootstrap = value(); break;
      case '--registry': options.registry = value(); break;
      case '--topic': options.topic = value(); break;
      case '--idle-ms': options.idleMs = number(); break;
      case '--timeout-ms': options.timeoutMs = number(); break;
      case '--json': options.json = true; break;
      case '--help': case '-h': usage('help'); break;
      default: usage(`unknown option ${name}`);
    }
  }
  if (!options.bootstrap) usage('--bootstrap is required');
  if (!options.registry) usage('--registry is required');
  return options;
}

// Our big integers are Avro bytes holding Java's BigInteger#toByteArray: two's complement, big-endian.
function bigIntegerOf(buffer) {
  if (buffer.length === 0) return 0n;
  let n = BigInt(`0x${buffer.toString('hex')}`);
  if (buffer[0] & 0x80) n -= 1n << BigInt(buffer.length * 8);
  return n;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const registry = new SchemaRegistry({ host: options.registry });
  const kafka = new Kafka({
    clientId: 'distpipe-interop',
    brokers: options.bootstrap.split(','),
    logLevel: logLevel.ERROR,
    retry: { retries: 5 },
  });
  const consumer = kafka.consumer({
    groupId: `distpipe-interop-${process.pid}-${Date.now()}`,
    readUncommitted: false,
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
  });
  let count = 0;
  let failures = 0;
  let lastMessage = 0;
  const started = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      lastMessage = Date.now();
      try {
        const key = message.key === null ? null : await registry.decode(message.key);
        const value = message.value === null ? null : await registry.decode(message.value);
        const number = value && Buffer.isBuffer(value.number) ? bigIntegerOf(value.number).toString() : null;
        count++;
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ partition, offset: message.offset, key, number,
            jobId: value && value.jobId })}\n`);
        } else if (number !== null) {
          process.stdout.write(`${number}\n`);
        } else {
          process.stdout.write(`${JSON.stringify(value)}\n`);
        }
      } catch (e) {
        failures++;
        process.stderr.write(`consume-primes: cannot decode partition ${partition} offset ${message.offset}: `
          + `${e.message}\n`);
      }
    },
  });
  const outcome = await new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = Date.now();
      if (lastMessage > 0 && now - lastMessage >= options.idleMs) {
        clearInterval(timer);
        resolve('idle');
      } else if (now - started >= options.timeoutMs) {
        clearInterval(timer);
        resolve('timeout');
      }
    }, 100);
  });
  await consumer.disconnect();
  process.stderr.write(`consume-primes: ${count} records from ${options.topic}, ${failures} not decodable `
    + `(stopped: ${outcome === 'idle' ? `no record for ${options.idleMs} ms` : `--timeout-ms ${options.timeoutMs}`})\n`);
  if (failures > 0 || (outcome === 'timeout' && count === 0)) {
    process.exitCode = 1;
  }
}

main().catch((e) => {
  process.stderr.write(`consume-primes: ${e.message}\n`);
  process.exit(1);
});
