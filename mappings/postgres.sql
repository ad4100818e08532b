-- postgres.sql - the tables the PostgreSQL sink (plugins/sink-postgres)
-- writes with the shipped mapping (postgres.yaml) and its default options:
-- users_table scim_users, groups_table scim_groups, roles_table
-- scim_user_roles, key and group_key scim_id, version_column scim_version,
-- role_column role, deleted_column deleted_at (used with delete: mark).
--
--   psql -v ON_ERROR_STOP=1 -d mydb -f postgres.sql
--
-- Safe to run again (IF NOT EXISTS). To put the tables in a schema of
-- their own, run `SET search_path = app;` first and name them app.scim_users
-- (and so on) in the sink's options. The sink writes only the columns the
-- mapping renders, plus scim_version and deleted_at: other columns of
-- your own may be added and are left alone.

CREATE TABLE IF NOT EXISTS scim_users (
    scim_id      text PRIMARY KEY,          -- the key: ON CONFLICT target
    external_id  text,
    user_name    text NOT NULL,
    email        text,
    given_name   text,
    family_name  text,
    display_name text,
    active       boolean NOT NULL DEFAULT true,
    department   text,
    scim_version bigint,                    -- the SCIM resource's version
    deleted_at   timestamptz                -- delete: mark
);

-- A user name is unique among the users not deleted (delete: mark keeps
-- deleted rows, and a new user may take the name again).
CREATE UNIQUE INDEX IF NOT EXISTS scim_users_user_name
    ON scim_users (user_name) WHERE deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS scim_groups (
    scim_id      text PRIMARY KEY,
    name         text NOT NULL,
    scim_version bigint
);

-- The roles of mappings/roles.yaml, one row per (user, role). The user's
-- key columns, then role_column; role.granted inserts, role.revoked
-- deletes. The engine revokes a user's roles before it deletes the user;
-- the cascade covers rows deleted by hand.
CREATE TABLE IF NOT EXISTS scim_user_roles (
    scim_id text NOT NULL REFERENCES scim_users (scim_id) ON DELETE CASCADE,
    role    text NOT NULL,
    PRIMARY KEY (scim_id, role)
);
