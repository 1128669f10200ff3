-- The two ends of every accepted link as 'system:system_id' (a, b), for the cluster
-- labelling (clusters.py).
SELECT left_system || ':' || left_id AS a, right_system || ':' || right_id AS b
FROM meta.xref_links
