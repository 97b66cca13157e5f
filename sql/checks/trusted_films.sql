-- Title: Quality of trusted_films
-- Question: Is every film there once, with sane money and dates, and what did Trusted leave out?
-- Rules (kind hard: rows breaking the rule; any such row fails the refine):
--   imdb_id_present: a film without an imdb_id.
--   imdb_id_unique: rows beyond the first of an imdb_id (count(*) - count(DISTINCT imdb_id)).
--   money_non_negative: a negative budget or revenue (0 became NULL: unknown).
--   release_date_valid: a release_date before 1888 (the first film) or more than ten years
--     after today.
-- Counts (kind dropped: Raw rows left out; nulled: values turned into NULL):
--   tmdb_line_without_imdb_id: Raw TMDB lines with no imdb_id (not a film).
--   tmdb_superseded_record: older Raw TMDB records of a film (the newest one is kept).
--   release_date_unparsable: a non-empty TMDB release_date that is not a valid date.
WITH films AS (
    SELECT imdb_id, budget, revenue, release_date
    FROM trusted_films
),

raw_records AS (
    SELECT imdb_id, release_date
    FROM tmdb_movies
)

SELECT 'imdb_id_present' AS rule, 'hard' AS kind, count_if(imdb_id IS NULL) AS row_count FROM films
UNION ALL
SELECT 'imdb_id_unique', 'hard', count(*) - count(DISTINCT imdb_id) FROM films
UNION ALL
SELECT 'money_non_negative', 'hard', count_if(budget < 0 OR revenue < 0) FROM films
UNION ALL
SELECT
    'release_date_valid',
    'hard',
    count_if(year(release_date) < 1888 OR year(release_date) > year(current_date) + 10)
FROM films
UNION ALL
SELECT 'tmdb_line_without_imdb_id', 'dropped', count_if(imdb_id IS NULL OR imdb_id = '') FROM raw_records
UNION ALL
SELECT
    'tmdb_superseded_record',
    'dropped',
    count_if(imdb_id IS NOT NULL AND imdb_id <> '') - count(DISTINCT NULLIF(imdb_id, ''))
FROM raw_records
UNION ALL
SELECT
    'release_date_unparsable',
    'nulled',
    count_if(release_date <> '' AND TRY_CAST(release_date AS date) IS NULL)
FROM raw_records
