'use strict';
// Starts the benchmark's Express app on every CPU, as one deploys it with pm2 or node's cluster.
//
//   PORT=3001 PGHOST=/tmp/pg PGDATABASE=bench JWT_KEYS='{"activeKid":"k1","k1":"..."}' node server.js
//
// WORKERS overrides the number of worker processes (default: one per CPU). Prints
// `listening on http://127.0.0.1:PORT` once every worker listens; SIGTERM or SIGINT stops all.

const cluster = require('node:cluster');
const os = require('node:os');

const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number(process.env.PORT || 3001);

function startPrimary() {
  const count = Number(process.env.WORKERS) || os.availableParallelism();
  let listening = 0;
  let stopping = false;
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
  };
  cluster.on('listening', (worker, address) => {
    listening += 1;
    if (listening === count) console.log(`listening on http://${HOST}:${address.port}`);
  });
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      console.error(`worker ${worker.process.pid} died (${signal || code}); stopping`);
      stop();
    }
    if (Object.keys(cluster.workers).length === 0) process.exit(0);
  });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (let i = 0; i < count; i += 1) cluster.fork();
}

function startWorker() {
  const { app, pool } = require('./app');
  const server = app.listen(PORT, HOST);
  const stop = () => {
    setTimeout(() => process.exit(1), 5000).unref();
    server.close(() => pool.end().then(() => process.exit(0)));
    server.closeIdleConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (cluster.isPrimary) startPrimary();
else startWorker();
