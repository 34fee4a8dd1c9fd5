-- Runs once, when the postgres volume is empty (docker-entrypoint-initdb.d), in database app_db.
-- The seed article's table, unchanged: Brisk and Debezium both capture it through dbz_publication.
CREATE TABLE user_activity (
  id UUID PRIMARY KEY,
  user_id VARCHAR(255) NOT NULL,
  activity_type VARCHAR(50) NOT NULL,
  product_id VARCHAR(255),
  activity_timestamp TIMESTAMPTZ NOT NULL
);

-- Serves "this user's latest activity" queries; an index leaves the change events untouched.
CREATE INDEX user_activity_user_time_idx ON user_activity (user_id, activity_timestamp DESC);

-- The catalogue recommendations read (category of the viewed product, its price).
CREATE TABLE product (
  id VARCHAR(255) PRIMARY KEY,
  name TEXT NOT NULL,
  category VARCHAR(100) NOT NULL,
  price NUMERIC(10,2) NOT NULL DEFAULT 0
);

-- Created here rather than by Debezium (publication.autocreate.mode=disabled), so the connector's role
-- needs no ownership of the tables.
CREATE PUBLICATION dbz_publication FOR TABLE user_activity, product;
