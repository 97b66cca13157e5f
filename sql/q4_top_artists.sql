-- Title: Artists with the most enriched films
-- Question: Which ten artists appear in the most films that TMDB enriched, and how are those
--   films rated, how much do they earn and how popular are they?
-- Definitions:
--   film: one per imdb_id; the Raw record with the newest ingested_at wins (ties: the newest
--     date folder). Lines without an imdb_id (e.g. errors) are not films.
--   artist film: a distinct (nomeartista, id) pair of the movies CSV whose id is the imdb_id of
--     a film, so an artist counts a film once whatever the number of roles or CSV copies.
--   unknown: a revenue of 0 (or missing) is unknown and left out of avg_revenue.
--   ranking: films desc, then avg_revenue desc (unknown last), then artist asc; the first 10.
-- Output: ten rows at most, in ranking order.
WITH raw_films AS (
    SELECT
        imdb_id,
        revenue,
        vote_average,
        popularity,
        row_number() OVER (
            PARTITION BY imdb_id
            ORDER BY ingested_at DESC NULLS LAST, partition_0 DESC, partition_1 DESC, partition_2 DESC
        ) AS recency
    FROM tmdb_movies
    WHERE imdb_id IS NOT NULL AND imdb_id <> ''
),

latest_films AS (
    SELECT
        imdb_id,
        CASE WHEN revenue > 0 THEN revenue END AS revenue,
        vote_average,
        popularity
    FROM raw_films
    WHERE recency = 1
),

artist_film_pairs AS (
    SELECT DISTINCT
        nomeartista AS artist,
        id AS imdb_id
    FROM csv_movies
    WHERE nomeartista IS NOT NULL AND nomeartista <> '' AND id IS NOT NULL
),

artist_films AS (
    SELECT
        p.artist,
        f.imdb_id,
        f.revenue,
        f.vote_average,
        f.popularity
    FROM artist_film_pairs AS p
    INNER JOIN latest_films AS f ON f.imdb_id = p.imdb_id
),

artist_summary AS (
    SELECT
        artist,
        count(*) AS films,
        avg(vote_average) AS avg_vote_average,
        avg(CAST(revenue AS double)) AS avg_revenue,
        count(revenue) AS films_with_revenue,
        avg(popularity) AS avg_popularity
    FROM artist_films
    GROUP BY artist
)

SELECT artist, films, avg_vote_average, avg_revenue, films_with_revenue, avg_popularity
FROM artist_summary
ORDER BY films DESC, avg_revenue DESC NULLS LAST, artist ASC
LIMIT 10
