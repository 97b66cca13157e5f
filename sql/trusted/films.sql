-- Title: Trusted films
-- Question: What do we know about each film, once, cleaned and typed?
-- Grain: one row per imdb_id, for every film the movies CSV lists or TMDB enriched.
-- Sources: tmdb_movies (Raw TMDB records), csv_movies (Raw IMDb CSV rows).
-- Definitions:
--   newest TMDB record: per imdb_id, the Raw record with the newest ingested_at (ties: the
--     newest date folder); lines without an imdb_id (e.g. errors) are not films.
--   CSV attributes: the film's row in the newest date folder of the movies CSV (the CSV has
--     one row per film x artist, all with the same film attributes).
--   unknown: '\N' (null in the CSV SerDe), an empty string, and a budget, revenue or runtime
--     of 0 become NULL here, once; later zones never re-check them. A vote_count of 0 stays 0
--     (no votes is a count, not an unknown). A negative amount is kept as it is, for the
--     money_non_negative check to catch.
--   release_date: TMDB's "YYYY-MM-DD" as a date, NULL when empty or not a valid date.
--   genres: the CSV's comma-separated genero as an array, else TMDB's genre names.
--   enriched: whether TMDB returned a record for the film.
--   fetched_on: the run date of a record, from its date folder (Raw/TMDB/.../YYYY/MM/DD/).
--   fetches: how many Raw records the film has (one per fetch: the first and each refresh).
--   previous record: the film's second-newest record in the same order, the fetch before the
--     newest one; its budget and revenue with the same unknowns (0 -> NULL), NULL when the
--     film was fetched once.
WITH ranked_tmdb_records AS (
    SELECT
        t.*,
        CAST(concat(partition_0, '-', partition_1, '-', partition_2) AS date) AS fetched_on,
        count(*) OVER (PARTITION BY imdb_id) AS fetches,
        row_number() OVER (
            PARTITION BY imdb_id
            ORDER BY ingested_at DESC NULLS LAST, partition_0 DESC, partition_1 DESC, partition_2 DESC
        ) AS recency
    FROM tmdb_movies AS t
    WHERE imdb_id IS NOT NULL AND imdb_id <> ''
),

newest_tmdb_records AS (
    SELECT
        imdb_id,
        id AS tmdb_id,
        NULLIF(title, '') AS title,
        NULLIF(original_title, '') AS original_title,
        NULLIF(original_language, '') AS original_language,
        TRY_CAST(NULLIF(release_date, '') AS date) AS release_date,
        CASE WHEN runtime > 0 THEN runtime END AS runtime,
        NULLIF(budget, 0) AS budget,
        NULLIF(revenue, 0) AS revenue,
        popularity,
        vote_average,
        vote_count,
        transform(genres, g -> g.name) AS genres,
        ingested_at,
        fetched_on,
        fetches
    FROM ranked_tmdb_records
    WHERE recency = 1
),

previous_tmdb_records AS (
    SELECT
        imdb_id,
        ingested_at AS previous_ingested_at,
        fetched_on AS previous_fetched_on,
        NULLIF(budget, 0) AS previous_budget,
        NULLIF(revenue, 0) AS previous_revenue,
        vote_count AS previous_vote_count
    FROM ranked_tmdb_records
    WHERE recency = 2
),

ranked_csv_rows AS (
    SELECT
        id AS imdb_id,
        NULLIF(titulopincipal, '') AS imdb_title,
        NULLIF(titulooriginal, '') AS imdb_original_title,
        anolancamento AS imdb_year,
        CASE WHEN tempominutos > 0 THEN tempominutos END AS imdb_runtime,
        NULLIF(genero, '') AS genero,
        notamedia AS imdb_rating,
        numerovotos AS imdb_votes,
        row_number() OVER (
            PARTITION BY id
            ORDER BY partition_0 DESC, partition_1 DESC, partition_2 DESC, titulopincipal ASC
        ) AS recency
    FROM csv_movies
    WHERE id IS NOT NULL AND id <> ''
),

csv_films AS (
    SELECT
        imdb_id,
        imdb_title,
        imdb_original_title,
        imdb_year,
        imdb_runtime,
        split(genero, ',') AS genres,
        imdb_rating,
        imdb_votes
    FROM ranked_csv_rows
    WHERE recency = 1
)

SELECT
    coalesce(t.imdb_id, c.imdb_id) AS imdb_id,
    t.tmdb_id,
    coalesce(t.title, c.imdb_title) AS title,
    coalesce(t.original_title, c.imdb_original_title) AS original_title,
    c.imdb_title,
    c.imdb_original_title,
    t.original_language,
    t.release_date,
    c.imdb_year,
    coalesce(t.runtime, c.imdb_runtime) AS runtime,
    coalesce(c.genres, t.genres) AS genres,
    c.imdb_rating,
    c.imdb_votes,
    t.budget,
    t.revenue,
    t.popularity,
    t.vote_average,
    t.vote_count,
    t.imdb_id IS NOT NULL AS enriched,
    t.ingested_at,
    t.fetched_on,
    t.fetches,
    p.previous_ingested_at,
    p.previous_fetched_on,
    p.previous_budget,
    p.previous_revenue,
    p.previous_vote_count
FROM newest_tmdb_records AS t
FULL OUTER JOIN csv_films AS c ON c.imdb_id = t.imdb_id
LEFT JOIN previous_tmdb_records AS p ON p.imdb_id = t.imdb_id
