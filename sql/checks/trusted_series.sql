-- Title: Quality of trusted_series
-- Question: Is every series there once, with sane years?
-- Rules (kind hard: rows breaking the rule; any such row fails the refine):
--   imdb_id_unique: rows beyond the first of an imdb_id.
--   series_years_valid: an end_year before the start_year.
-- Counts (kind dropped: Raw rows left out):
--   csv_rows_folded: series CSV rows folded into the one row kept per series (the CSV has one
--     row per series x artist; the artists are not kept for series).
SELECT 'imdb_id_unique' AS rule, 'hard' AS kind, count(*) - count(DISTINCT imdb_id) AS row_count
FROM trusted_series
UNION ALL
SELECT 'series_years_valid', 'hard', count_if(end_year < start_year) FROM trusted_series
UNION ALL
SELECT 'csv_rows_folded', 'dropped', (SELECT count(*) FROM csv_series) - (SELECT count(*) FROM trusted_series)
