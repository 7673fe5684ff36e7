'use strict';
// The Express side of the load benchmark: the same work as local-api's GET /api/users/me
// (verify the access token, read the user and the session, answer the profile) on PostgreSQL.
//
// Configuration (environment): PG* variables for node-postgres (PGHOST, PGPORT, PGUSER,
// PGDATABASE), PG_POOL_SIZE (default 10 per process), JWT_KEYS as local-api's key set
// ({"activeKid": "k1", "k1": "<secret>"}), JWT_ISSUER, JWT_AUDIENCE.

const express = require('express');
const jwt = require('jsonwebtoken');
const { Pool } = require('pg');

const ISSUER = process.env.JWT_ISSUER || 'serverless-backend';
const AUDIENCE = process.env.JWT_AUDIENCE || 'serverless-backend-api';

function loadKeys(json) {
  const { activeKid, ...keys } = JSON.parse(json);
  if (!keys[activeKid]) throw new Error('JWT_KEYS has no key for activeKid');
  return new Map(Object.entries(keys));
}

const keys = loadKeys(process.env.JWT_KEYS);
const pool = new Pool({ max: Number(process.env.PG_POOL_SIZE) || 10 });

class Unauthorized extends Error {}

// The secret named by the token's `kid`; unknown or missing kids fail verification.
function secretFor(header, callback) {
  const secret = header.kid && keys.get(header.kid);
  callback(secret ? null : new Unauthorized('unknown kid'), secret);
}

const VERIFY_OPTIONS = {
  algorithms: ['HS256'],
  issuer: ISSUER,
  audience: AUDIENCE,
  clockTolerance: 5,
};

function verifyAccessToken(token) {
  return new Promise((resolve, reject) => {
    jwt.verify(token, secretFor, VERIFY_OPTIONS, (err, claims) => {
      const complete = claims && typeof claims.exp === 'number' && typeof claims.iat === 'number'
        && typeof claims.sub === 'string' && typeof claims.sid === 'string';
      if (err || !complete) reject(new Unauthorized('invalid token'));
      else resolve(claims);
    });
  });
}

// Prepared once per pooled connection (node-postgres named statements).
const USER_BY_ID = {
  name: 'user-by-id',
  text: `SELECT id, email, name, role, email_verified, created_at, updated_at,
                session_generation, deleted_at
           FROM users WHERE id = $1`,
};
const SESSION_BY_ID = {
  name: 'session-by-id',
  text: 'SELECT generation, revoked_at FROM sessions WHERE user_id = $1 AND id = $2',
};

// The caller's user if the token's session is live: the user active, the session not revoked
// and of the user's current session generation.
async function authenticate(req) {
  const match = /^Bearer (\S+)$/.exec(req.get('authorization') || '');
  if (!match) throw new Unauthorized('missing bearer token');
  const claims = await verifyAccessToken(match[1]);
  const [users, sessions] = await Promise.all([
    pool.query({ ...USER_BY_ID, values: [claims.sub] }),
    pool.query({ ...SESSION_BY_ID, values: [claims.sub, claims.sid] }),
  ]);
  const user = users.rows[0];
  const session = sessions.rows[0];
  const live = user && session && user.deleted_at === null && session.revoked_at === null
    && String(session.generation) === String(user.session_generation);
  if (!live) throw new Unauthorized('session ended');
  return user;
}

function profile(user) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    emailVerified: user.email_verified,
    createdAt: user.created_at.toISOString(),
    updatedAt: user.updated_at.toISOString(),
  };
}

const app = express();
app.disable('x-powered-by');

app.get('/health', (req, res) => {
  res.json({ status: 'ok' });
});

app.get('/api/users/me', async (req, res) => {
  const user = await authenticate(req);
  res.set('Cache-Control', 'private, no-store');
  res.json(profile(user));
});

// Express 5 passes a rejected handler's error here.
app.use((err, req, res, next) => {
  if (err instanceof Unauthorized) {
    res.status(401).json({ error: 'unauthorized', message: err.message });
    return;
  }
  console.error(err);
  res.status(500).json({ error: 'internal' });
});

module.exports = { app, pool };
