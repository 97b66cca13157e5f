-- Title: Trusted series
-- Question: What do we know about each series, once, cleaned and typed?
-- Grain: one row per imdb_id of the series CSV.
-- Sources: csv_series (Raw IMDb CSV rows, one per series x artist).
-- Definitions:
--   attributes: the series' row in the newest date folder (all its rows carry the same
--     series attributes).
--   unknown: '\N' (null in the CSV SerDe) and empty strings are NULL; a runtime of 0 is NULL.
--   genres: the comma-separated genero as an array.
--   end_year: anotermino, NULL while the series runs.
WITH ranked_rows AS (
    SELECT
        id AS imdb_id,
        NULLIF(titulopincipal, '') AS title,
        NULLIF(titulooriginal, '') AS original_title,
        anolancamento AS start_year,
        anotermino AS end_year,
        CASE WHEN tempominutos > 0 THEN tempominutos END AS runtime,
        NULLIF(genero, '') AS genero,
        notamedia AS imdb_rating,
        numerovotos AS imdb_votes,
        row_number() OVER (
            PARTITION BY id
            ORDER BY partition_0 DESC, partition_1 DESC, partition_2 DESC, titulopincipal ASC
        ) AS recency
    FROM csv_series
    WHERE id IS NOT NULL AND id <> ''
)

SELECT
    imdb_id,
    title,
    original_title,
    start_year,
    end_year,
    runtime,
    split(genero, ',') AS genres,
    imdb_rating,
    imdb_votes
FROM ranked_rows
WHERE recency = 1
