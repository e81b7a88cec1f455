-- People and rooms: a user's time zone (an IANA name such as "Asia/Tokyo",
-- '' when unknown; see hanashi.CheckTimeZone) and a room's topic (one line
-- of plain text, '' for none; see hanashi.CheckTopic).
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN topic     TEXT NOT NULL DEFAULT '';
