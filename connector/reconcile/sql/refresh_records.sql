-- Normalised rows of the dirty records that still exist. Title: accents stripped, lower case,
-- every run of non-alphanumerics a space, trailing noise words removed ($suffix_re, from
-- rules.toml); nums: the title's numbers without leading zeros. xref_source as in mark_dirty.sql.
INSERT INTO meta.xref_records
WITH dirty AS (
    SELECT s.* FROM xref_source AS s
    SEMI JOIN meta.xref_dirty AS d ON d.system = s.system AND d.system_id = s.system_id
), cleaned AS (
    SELECT *, trim(regexp_replace(
                  ' ' || trim(regexp_replace(strip_accents(lower(coalesce(title, ''))),
                                             '[^a-z0-9]+', ' ', 'g')),
                  $suffix_re, '')) AS norm
    FROM dirty
)
SELECT system, system_id, norm,
       array_to_string(list_transform(regexp_extract_all(norm, '[0-9]+'),
                                      lambda x: coalesce(nullif(ltrim(x, '0'), ''), '0')), ' '),
       split_part(norm, ' ', 1),
       string_split(norm, ' ')[-1],
       duration_s, created_at, fingerprint
FROM cleaned
