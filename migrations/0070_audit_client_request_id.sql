-- The request id of an audit row is ours; the X-Request-Id a client sent is kept beside it, so a
-- client can correlate its calls but never forge or collide the server's ids.
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS client_request_id String DEFAULT '' AFTER request_id;
