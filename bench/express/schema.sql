-- The two tables GET /api/users/me reads, shaped like local-api's user and session records.
CREATE TABLE users (
    id                 text PRIMARY KEY,
    email              text NOT NULL UNIQUE,
    name               text NOT NULL,
    role               text NOT NULL DEFAULT 'user',
    password_hash      text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            bigint NOT NULL DEFAULT 1,
    session_generation bigint NOT NULL DEFAULT 0,
    email_verified     boolean NOT NULL DEFAULT false,
    deleted_at         timestamptz
);

CREATE TABLE sessions (
    user_id    text NOT NULL REFERENCES users (id),
    id         text NOT NULL,
    generation bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    PRIMARY KEY (user_id, id)
);
