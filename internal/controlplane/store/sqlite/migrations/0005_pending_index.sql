-- 0005_pending_index indexes the objects a reconciler must look at, so that
-- Pending reads those few rows instead of every object of the kind: objects
-- at rest (status settled on the current generation, no deletion asked for)
-- are not in the index at all. Pending's query repeats this WHERE clause
-- word for word (sqlstore.pendingCondition), which is what lets the query
-- planners use a partial index.
CREATE INDEX objects_pending ON objects (kind, environment, name)
    WHERE observed_generation < generation
       OR phase NOT IN ('ready', 'failed', 'succeeded', 'cancelled')
       OR deletion_requested_at IS NOT NULL;
