-- 0004_metrics creates the metrics store: one row per series, dimensions and
-- one-second bucket, written by the gateway (predictions, sampled inputs) and
-- by pushes of custom metrics, read by the alarm evaluator and the
-- autoscaler. Rows are never updated: two replicas that saw the same series in
-- the same second each write a row, and readers add them up. Rows older than
-- the retention are pruned.
--
-- time_unix is the bucket's start in Unix seconds. samples and inputs are JSON
-- arrays (a uniform sample of the values, and of the input vectors), '' for
-- none.
CREATE TABLE metric_points (
    environment   TEXT             NOT NULL,
    series        TEXT             NOT NULL,
    endpoint      TEXT             NOT NULL DEFAULT '',
    variant       TEXT             NOT NULL DEFAULT '',
    model_version TEXT             NOT NULL DEFAULT '',
    time_unix     BIGINT           NOT NULL,
    observations  BIGINT           NOT NULL,
    failures      BIGINT           NOT NULL DEFAULT 0,
    value_sum     DOUBLE PRECISION NOT NULL DEFAULT 0,
    value_min     DOUBLE PRECISION NOT NULL DEFAULT 0,
    value_max     DOUBLE PRECISION NOT NULL DEFAULT 0,
    samples       TEXT             NOT NULL DEFAULT '',
    inputs        TEXT             NOT NULL DEFAULT ''
);

-- Alarms and the autoscaler read one series of one endpoint over a window.
CREATE INDEX metric_points_series ON metric_points (environment, series, endpoint, time_unix);

-- Pruning deletes by age.
CREATE INDEX metric_points_time ON metric_points (time_unix);
