-- Privileges of the application's own database role on PostgreSQL.
--
-- The app runs as a role that owns nothing: it reads and writes the application's tables, but it can
-- only append to the audit trail, the consent history, the disclosures to the court and the published
-- questionnaire versions,
-- never UPDATE, DELETE or TRUNCATE them, and it cannot drop the triggers that guard them (only an
-- owner can). Migrations run as the owner role; the app's DATABASE_URL names `survey_app`.
--
-- Once, as a superuser:   CREATE ROLE survey_app LOGIN PASSWORD '...';
-- After every `flask db upgrade`, as the owner of the tables (the role that ran the migration):
--   psql "$OWNER_DATABASE_URL" -v ON_ERROR_STOP=1 -f deploy/postgres/app-role.sql
-- To use another role name, replace survey_app below. (New databases let every role connect; if yours
-- revoked that from PUBLIC, also GRANT CONNECT ON DATABASE <name> TO survey_app.)

BEGIN;

GRANT USAGE ON SCHEMA public TO survey_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO survey_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO survey_app;

-- Append-only: read and add rows, nothing else.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, consent_records, court_shares, questionnaire_versions
    FROM survey_app;
-- The schema version belongs to the migrations.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM survey_app;

-- Tables created later by this owner get the ordinary privileges; re-run this file after a migration
-- that adds an append-only table.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO survey_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO survey_app;

COMMIT;
