-- Every run decides the links again from the stored key pairs and scored candidates.
DELETE FROM meta.xref_links
