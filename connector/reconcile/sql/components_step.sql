-- One step of the labelling: a record takes the smallest label among its linked neighbours
-- when it is smaller than its own; repeated until no label changes (then each cluster is
-- labelled by its smallest record). Returns the number of labels changed.
UPDATE meta.xref_components AS c
SET label = m.label
FROM (
    SELECT e.a AS node, min(n.label) AS label
    FROM (SELECT left_system || ':' || left_id AS a, right_system || ':' || right_id AS b
          FROM meta.xref_links
          UNION ALL
          SELECT right_system || ':' || right_id, left_system || ':' || left_id
          FROM meta.xref_links) AS e
    JOIN meta.xref_components AS n ON n.node = e.b
    GROUP BY e.a
) AS m
WHERE c.node = m.node AND m.label < c.label
