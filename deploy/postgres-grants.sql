-- The portal's database role in production: it reads and writes the clinic's tables but may only
-- add to the audit log, never change, remove or empty it, and, owning no table, cannot alter or
-- drop any (HIPAA 164.312(b), ASVS 7.3.3). Run as the role that owns the tables (the one that ran
-- `flask db upgrade`) after every upgrade, so new tables are covered:
--   psql "$OWNER_DATABASE_URL" -v ON_ERROR_STOP=1 -f deploy/postgres-grants.sql
-- The app then connects as portal_app (DATABASE_URL); migrations keep using the owner.
-- Make the role once: CREATE ROLE portal_app LOGIN PASSWORD '...';
GRANT USAGE ON SCHEMA public TO portal_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO portal_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO portal_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM portal_app;
REVOKE ALL ON alembic_version FROM portal_app;
GRANT SELECT ON alembic_version TO portal_app;
