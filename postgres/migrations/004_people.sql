-- People and rooms on PostgreSQL; the twin of sqlite's 004_people.sql: a
-- user's time zone (an IANA name such as "Asia/Tokyo", '' when unknown; see
-- hanashi.CheckTimeZone) and a room's topic (one line of plain text, '' for
-- none; see hanashi.CheckTopic). Constant defaults: no rewrite of a table.
ALTER TABLE users ADD COLUMN time_zone text NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN topic     text NOT NULL DEFAULT '';
