-- Start the cluster labelling: every linked record labelled by itself.
INSERT INTO meta.xref_components (node, label)
SELECT node, node FROM (
    SELECT left_system || ':' || left_id AS node FROM meta.xref_links
    UNION
    SELECT right_system || ':' || right_id FROM meta.xref_links
)
