import Foundation
import GRDB
import NomadModel

/// Every table of the store, created by one migrator. Constraints live here, not only in Swift:
/// a sequence number cannot repeat for an origin (and so neither can an entry id, which fixes both).
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE site (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    url TEXT NOT NULL,
                    site_id TEXT NOT NULL,
                    sign_public BLOB NOT NULL CHECK (length(sign_public) = 32),
                    sign_seed_sealed BLOB NOT NULL,
                    seal_public BLOB NOT NULL CHECK (length(seal_public) = 32),
                    seal_seed_sealed BLOB NOT NULL,
                    hlc INTEGER NOT NULL DEFAULT 0,
                    created_at TEXT NOT NULL
                );
                CREATE TABLE channel (
                    id INTEGER PRIMARY KEY,
                    nickname TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    guid TEXT NOT NULL,
                    portable_id TEXT NOT NULL UNIQUE,
                    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
                    seed_sealed BLOB NOT NULL,
                    writer TEXT NOT NULL,
                    digest BLOB NOT NULL CHECK (length(digest) = 32),
                    diverged TEXT,
                    created_at TEXT NOT NULL
                );
                CREATE TABLE entry (
                    position INTEGER PRIMARY KEY,
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    id TEXT NOT NULL,
                    origin TEXT NOT NULL,
                    seq INTEGER NOT NULL CHECK (seq >= 1),
                    hlc INTEGER NOT NULL,
                    entity TEXT NOT NULL,
                    key TEXT NOT NULL,
                    op TEXT NOT NULL CHECK (op IN ('put', 'delete')),
                    body TEXT NOT NULL,
                    UNIQUE (channel, origin, seq),
                    UNIQUE (channel, id)
                );
                CREATE TABLE pending (
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    id TEXT NOT NULL,
                    origin TEXT NOT NULL,
                    seq INTEGER NOT NULL CHECK (seq >= 1),
                    hlc INTEGER NOT NULL,
                    entity TEXT NOT NULL,
                    key TEXT NOT NULL,
                    op TEXT NOT NULL CHECK (op IN ('put', 'delete')),
                    body TEXT NOT NULL,
                    PRIMARY KEY (channel, origin, seq),
                    UNIQUE (channel, id)
                );
                CREATE TABLE state (
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    entity TEXT NOT NULL,
                    key TEXT NOT NULL,
                    entry_id TEXT NOT NULL,
                    origin TEXT NOT NULL,
                    hlc INTEGER NOT NULL,
                    op TEXT NOT NULL CHECK (op IN ('put', 'delete')),
                    body TEXT NOT NULL,
                    PRIMARY KEY (channel, entity, key)
                );
                CREATE TABLE vector (
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    origin TEXT NOT NULL,
                    seq INTEGER NOT NULL CHECK (seq >= 0),
                    PRIMARY KEY (channel, origin)
                );
                """)
        }
        migrator.registerMigration("v2-delivery") { db in
            try db.execute(sql: """
                CREATE TABLE outbox (
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    site_id TEXT NOT NULL,
                    position INTEGER NOT NULL REFERENCES entry(position) ON DELETE CASCADE,
                    PRIMARY KEY (channel, site_id, position)
                );
                CREATE TABLE peer (
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    site_id TEXT NOT NULL,
                    offline INTEGER NOT NULL DEFAULT 0 CHECK (offline IN (0, 1)),
                    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                    next_attempt INTEGER NOT NULL DEFAULT 0,
                    last_heard INTEGER,
                    last_delivered INTEGER,
                    last_error TEXT,
                    vector TEXT,
                    digest TEXT,
                    PRIMARY KEY (channel, site_id)
                );
                CREATE TABLE seen_token (
                    token TEXT PRIMARY KEY,
                    seen_at INTEGER NOT NULL
                );
                CREATE INDEX seen_token_age ON seen_token (seen_at);
                """)
        }
        migrator.registerMigration("v3-writers") { db in
            // Every writer id (origin) a `location` entry of the channel has named. An entry
            // whose origin is not among them is refused. Filled from the log already held.
            try db.execute(sql: """
                CREATE TABLE writer (
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    origin TEXT NOT NULL,
                    PRIMARY KEY (channel, origin)
                );
                INSERT OR IGNORE INTO writer (channel, origin)
                    SELECT channel, json_extract(body, '$.writer') FROM entry
                    WHERE entity = 'location' AND op = 'put' AND json_valid(body)
                      AND json_type(body, '$.writer') = 'text';
                INSERT OR IGNORE INTO writer (channel, origin) SELECT id, writer FROM channel;
                """)
        }
        migrator.registerMigration("v4-voided") { db in
            // Entry ids a healed site took back (a location's `voided` list): never applied again.
            try db.execute(sql: """
                CREATE TABLE voided (
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    id TEXT NOT NULL,
                    PRIMARY KEY (channel, id)
                );
                """)
        }
        migrator.registerMigration("v5-keys") { db in
            // The keys a channel had before a rekey: `valid` 1 while linked (update:false: the old
            // portable_id stays valid), 0 once superseded (update:true, or a losing concurrent
            // rekey). The seed stays (sealed under the host key): it opens the next `key` entry
            // and answers a lagging clone's pull signed with it.
            try db.execute(sql: """
                CREATE TABLE former_key (
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    portable_id TEXT NOT NULL,
                    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
                    seed_sealed BLOB NOT NULL,
                    valid INTEGER NOT NULL CHECK (valid IN (0, 1)),
                    PRIMARY KEY (channel, portable_id)
                );
                CREATE INDEX former_key_id ON former_key (portable_id);
                """)
        }
        migrator.registerMigration("v6-digest-guid") { db in
            // The digest's terms name the channel by its guid (a rekey changes the portable_id,
            // not the state): every stored digest is summed again from the state rows.
            for channel in try Row.fetchAll(db, sql: "SELECT id, guid FROM channel") {
                let id: Int64 = channel["id"]
                let guid: String = channel["guid"]
                var digest = StateDigest.zero
                for row in try Row.fetchAll(db, sql: "SELECT entity, key, entry_id FROM state WHERE channel = ?", arguments: [id]) {
                    digest.add(StateDigest.term(guid: guid, entity: row["entity"], key: row["key"], entryID: row["entry_id"]))
                }
                try db.execute(sql: "UPDATE channel SET digest = ? WHERE id = ?", arguments: [Data(digest.bytes), id])
            }
        }
        migrator.registerMigration("v7-purge") { db in
            // When the channel was purged (deleted everywhere). Its data is wiped once nothing is
            // left to deliver; the row stays so the channel answers 410.
            try db.execute(sql: "ALTER TABLE channel ADD COLUMN purged_at INTEGER")
        }
        migrator.registerMigration("v8-local-entries") { db in
            // Which entries this site wrote (as opposed to received): a heal takes back only
            // those. Entries of a writer a channel row names now were written here.
            try db.execute(sql: """
                ALTER TABLE entry ADD COLUMN local INTEGER NOT NULL DEFAULT 0 CHECK (local IN (0, 1));
                UPDATE entry SET local = 1 WHERE origin = (SELECT writer FROM channel WHERE channel.id = entry.channel);
                """)
        }
        migrator.registerMigration("v9-channel-messages") { db in
            // `activity`, `response` and targeted `refresh` messages other channels delivered to a
            // hosted channel, kept for the paired server: one row per (channel, message id).
            // Channels met on the wire (connections): their key, verified locations and fate.
            // Messages to send (`rekey`, `refresh`, `purge`) to a location or a connection.
            try db.execute(sql: """
                CREATE TABLE inbound_message (
                    position INTEGER PRIMARY KEY,
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    message_id TEXT NOT NULL,
                    type TEXT NOT NULL CHECK (type IN ('activity', 'response', 'refresh')),
                    sender TEXT NOT NULL,
                    site_id TEXT NOT NULL,
                    body TEXT NOT NULL,
                    received_at INTEGER NOT NULL,
                    UNIQUE (channel, message_id)
                );
                CREATE TABLE remote_channel (
                    portable_id TEXT PRIMARY KEY,
                    guid TEXT NOT NULL,
                    public_key BLOB NOT NULL,
                    locations TEXT NOT NULL DEFAULT '[]',
                    refreshed_at INTEGER,
                    purged_at INTEGER,
                    replaced_by TEXT,
                    linked_to TEXT
                );
                CREATE TABLE message_outbox (
                    id INTEGER PRIMARY KEY,
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    type TEXT NOT NULL CHECK (type IN ('rekey', 'refresh', 'purge')),
                    signer TEXT NOT NULL,
                    recipients TEXT NOT NULL,
                    rekey TEXT,
                    target_site TEXT,
                    target_channel TEXT,
                    target_url TEXT,
                    delivered TEXT NOT NULL DEFAULT '[]',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    last_error TEXT,
                    CHECK ((target_site IS NULL) != (target_channel IS NULL))
                );
                CREATE INDEX message_outbox_due ON message_outbox (next_at);
                """)
        }
        migrator.registerMigration("v10-moved-to") { db in
            // The id_url of the location a channel migrated to from this site (`movedTo`).
            try db.execute(sql: "ALTER TABLE channel ADD COLUMN moved_to TEXT")
        }
        migrator.registerMigration("v11-clone-tickets") { db in
            // Invitations to make a new clone (one row per ticket; the secret only as a hash),
            // and, on the new site, the ticket a channel is still being bootstrapped from.
            try db.execute(sql: """
                CREATE TABLE clone_ticket (
                    id TEXT PRIMARY KEY,
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    secret_sealed BLOB NOT NULL,
                    expires_at INTEGER NOT NULL,
                    claimed_by TEXT,
                    claimed_card TEXT,
                    claimed_at INTEGER,
                    created_at INTEGER NOT NULL
                );
                ALTER TABLE channel ADD COLUMN bootstrap TEXT;
                """)
        }
        migrator.registerMigration("v12-blob-fetch") { db in
            // Blobs a `file` entry names that this site failed to fetch: when to try again, why.
            try db.execute(sql: """
                CREATE TABLE blob_fetch (
                    hex TEXT PRIMARY KEY,
                    attempts INTEGER NOT NULL,
                    next_at INTEGER NOT NULL,
                    last_error TEXT
                );
                """)
        }
        migrator.registerMigration("v13-idempotency") { db in
            // Batches the paired server posted with an Idempotency-Key: the entries they made,
            // so the same key answers the same entries instead of appending again.
            try db.execute(sql: """
                CREATE TABLE idempotency_key (
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    key TEXT NOT NULL,
                    entry_ids TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (channel, key)
                );
                """)
        }
        migrator.registerMigration("v14-webhooks") { db in
            // Where the feed is pushed (docs/PROTOCOL.md §13): the URL, one channel or all, the
            // HMAC key (sealed), and the feed cursor delivered so far.
            try db.execute(sql: """
                CREATE TABLE webhook (
                    id INTEGER PRIMARY KEY,
                    url TEXT NOT NULL,
                    channel INTEGER REFERENCES channel(id) ON DELETE CASCADE,
                    local INTEGER NOT NULL DEFAULT 0,
                    secret_sealed BLOB NOT NULL,
                    cursor INTEGER NOT NULL DEFAULT 0,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_at INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT,
                    created_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v15-admin-tokens") { db in
            // Named bearer tokens for the admin API (`nomadsync token create`): only a hash of
            // each is kept; a revoked token stays listed with the time it was revoked.
            try db.execute(sql: """
                CREATE TABLE admin_token (
                    name TEXT PRIMARY KEY,
                    hash BLOB NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL,
                    last_used_at INTEGER,
                    revoked_at INTEGER
                );
                """)
        }
        migrator.registerMigration("v16-peer-pushed") { db in
            // When a location last delivered entries of its own writer to this site: while it
            // is pushing them, catch-up does not pull the same entries as well.
            try db.execute(sql: "ALTER TABLE peer ADD COLUMN last_pushed INTEGER")
        }
        migrator.registerMigration("v17-log-order-by-channel") { db in
            // A channel's log and inbound messages in arrival order, page after page: without
            // these, SQLite took the (channel, id) index and sorted every entry of the channel
            // for each page (log show of 1,000,000 entries: minutes instead of seconds).
            try db.execute(sql: """
                CREATE INDEX entry_by_channel_position ON entry (channel, position);
                CREATE INDEX inbound_message_by_channel_position ON inbound_message (channel, position);
                """)
        }
        migrator.registerMigration("v18-pending-held-at") { db in
            // When an entry was held (ms since 1970; 0 for those held before): a gap below one
            // held a moment ago is most likely a packet still on its way, not one to pull.
            try db.execute(sql: "ALTER TABLE pending ADD COLUMN held_at INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v19-entry-without-id-index") { db in
            // The log without its index on (channel, id). Ids are content hashes, so that index
            // took every insert to a random page: a commit of 500 entries dirtied ~430 of its
            // pages, and writing them (commit and checkpoint) was a quarter of a receiving site's
            // CPU. An id fixes its entry's origin and seq, so (channel, origin, seq), unique and
            // written in order, answers every lookup an entry's id did. The few lookups by id
            // alone: a key or location entry that a state row names (the partial index below,
            // on a few rows), the ids a healed site voided (one scan, rarely), and a repeated
            // admin request's entries, now remembered by origin and seq.
            // Foreign keys are off in a migration (GRDB checks them at its end), so dropping the
            // old table leaves the outbox rows that reference it.
            try db.execute(sql: """
                CREATE TABLE entry_new (
                    position INTEGER PRIMARY KEY,
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    id TEXT NOT NULL,
                    origin TEXT NOT NULL,
                    seq INTEGER NOT NULL CHECK (seq >= 1),
                    hlc INTEGER NOT NULL,
                    entity TEXT NOT NULL,
                    key TEXT NOT NULL,
                    op TEXT NOT NULL CHECK (op IN ('put', 'delete')),
                    body TEXT NOT NULL,
                    local INTEGER NOT NULL DEFAULT 0 CHECK (local IN (0, 1)),
                    UNIQUE (channel, origin, seq)
                );
                INSERT INTO entry_new (position, channel, id, origin, seq, hlc, entity, key, op, body, local)
                    SELECT position, channel, id, origin, seq, hlc, entity, key, op, body, local FROM entry ORDER BY position;
                CREATE TABLE idempotency_key_new (
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    key TEXT NOT NULL,
                    places TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (channel, key)
                );
                INSERT INTO idempotency_key_new (channel, key, places, created_at)
                    SELECT k.channel, k.key,
                           (SELECT json_group_array(json_object('origin', origin, 'seq', seq)) FROM (
                                SELECT e.origin, e.seq FROM json_each(k.entry_ids) j
                                JOIN entry e ON e.channel = k.channel AND e.id = j.value ORDER BY e.position)),
                           k.created_at
                    FROM idempotency_key k;
                DROP TABLE idempotency_key;
                ALTER TABLE idempotency_key_new RENAME TO idempotency_key;
                DROP TABLE entry;
                ALTER TABLE entry_new RENAME TO entry;
                CREATE INDEX entry_by_channel_position ON entry (channel, position);
                CREATE UNIQUE INDEX entry_document_by_id ON entry (channel, id) WHERE entity IN ('key', 'location');
                """)
        }
        migrator.registerMigration("v20-outbox-without-rowid") { db in
            // The outbox keyed by its primary key alone: as a rowid table every queued row and
            // every acknowledged one also went through a second b-tree (the key's index).
            // Deleting a packet's 500 rows was a sixth of the sending site's CPU in a catch-up.
            try db.execute(sql: """
                CREATE TABLE outbox_new (
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    site_id TEXT NOT NULL,
                    position INTEGER NOT NULL REFERENCES entry(position) ON DELETE CASCADE,
                    PRIMARY KEY (channel, site_id, position)
                ) WITHOUT ROWID;
                INSERT INTO outbox_new (channel, site_id, position) SELECT channel, site_id, position FROM outbox;
                DROP TABLE outbox;
                ALTER TABLE outbox_new RENAME TO outbox;
                """)
        }
        migrator.registerMigration("v21-outbox-runs") { db in
            // The outbox as runs of consecutive log positions per channel and location (see
            // OutboxRuns.swift): each island of consecutive queued positions becomes one run.
            try db.execute(sql: """
                CREATE TABLE outbox_run (
                    channel INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
                    site_id TEXT NOT NULL,
                    first INTEGER NOT NULL,
                    last INTEGER NOT NULL CHECK (last >= first),
                    PRIMARY KEY (channel, site_id, first)
                ) WITHOUT ROWID;
                INSERT INTO outbox_run (channel, site_id, first, last)
                    SELECT channel, site_id, MIN(position), MAX(position) FROM (
                        SELECT channel, site_id, position,
                               position - ROW_NUMBER() OVER (PARTITION BY channel, site_id ORDER BY position) AS island
                        FROM outbox)
                    GROUP BY channel, site_id, island;
                DROP TABLE outbox;
                """)
        }
        return migrator
    }
}
