-- 0002_leases creates the table of leases through which the reconcilers of
-- several mlopsd replicas on one database share the work: a replica reconciles
-- an object only while it holds the object's lease (store.Store.ClaimLeases).
--
-- holder names the replica (host-pid-random); expires_at is a timestamp in the
-- fixed-width UTC form of the other tables, so text order is time order. A
-- lease goes away with its object.
CREATE TABLE leases (
    uid        TEXT NOT NULL PRIMARY KEY REFERENCES objects (uid) ON DELETE CASCADE,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- Releasing every lease of a replica that shuts down.
CREATE INDEX leases_holder ON leases (holder);
