-- Title: Quality of trusted_film_artists
-- Question: Does every film artist point at a known film, once, and what was left out?
-- Rules (kind hard: rows breaking the rule; any such row fails the refine):
--   film_artist_known_film: a film artist whose imdb_id is not in trusted_films.
--   film_artist_unique: rows beyond the first of an (imdb_id, artist, role, character).
--   artist_years_valid: a death_year before the birth_year.
-- Counts (kind dropped: Raw rows left out):
--   csv_row_without_film_or_artist: movies CSV rows with no id or no artist name.
--   csv_row_repeated: movies CSV rows repeating a film artist already counted (the same row
--     in another date folder, or conflicting copies merged).
WITH film_artists AS (
    SELECT imdb_id, artist, role, character, birth_year, death_year
    FROM trusted_film_artists
),

artist_keys AS (
    SELECT count(*) AS copies
    FROM film_artists
    GROUP BY imdb_id, artist, role, character
),

csv_rows AS (
    SELECT NULLIF(id, '') AS imdb_id, NULLIF(nomeartista, '') AS artist
    FROM csv_movies
)

SELECT
    'film_artist_known_film' AS rule,
    'hard' AS kind,
    count(*) AS row_count
FROM film_artists AS a
LEFT JOIN trusted_films AS f ON f.imdb_id = a.imdb_id
WHERE f.imdb_id IS NULL
UNION ALL
SELECT 'film_artist_unique', 'hard', coalesce(sum(copies - 1), 0) FROM artist_keys
UNION ALL
SELECT 'artist_years_valid', 'hard', count_if(death_year < birth_year) FROM film_artists
UNION ALL
SELECT 'csv_row_without_film_or_artist', 'dropped', count_if(imdb_id IS NULL OR artist IS NULL) FROM csv_rows
UNION ALL
SELECT
    'csv_row_repeated',
    'dropped',
    count_if(imdb_id IS NOT NULL AND artist IS NOT NULL) - (SELECT count(*) FROM film_artists)
FROM csv_rows
