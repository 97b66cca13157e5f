-- Title: Critics versus popularity
-- Question: Do the films voters rate best also tend to be the most popular?
-- Definitions:
--   film: one row of refined_film_facts (sql/refined/film_facts.sql): one per enriched imdb_id.
--   population: films with vote_count > 0, a vote_average and a popularity.
--   pearson_vote_popularity: Pearson correlation of vote_average and popularity.
--   spearman_vote_popularity: Pearson correlation of the two columns' average ranks. Trino has
--     no average-rank function, so a value's rank is rank() (1 + the count of smaller values)
--     plus half the number of other rows tied with it: rank() + (count(*) over the tie - 1) / 2,
--     i.e. the mean of the positions the tied rows occupy.
-- Output: one row.
WITH voted_films AS (
    SELECT
        CAST(vote_average AS double) AS vote_average,
        CAST(popularity AS double) AS popularity
    FROM refined_film_facts
    WHERE vote_count > 0 AND vote_average IS NOT NULL AND popularity IS NOT NULL
),

ranked_films AS (
    SELECT
        vote_average,
        popularity,
        rank() OVER (ORDER BY vote_average ASC)
        + CAST(count(*) OVER (PARTITION BY vote_average) - 1 AS double) / 2 AS vote_average_rank,
        rank() OVER (ORDER BY popularity ASC)
        + CAST(count(*) OVER (PARTITION BY popularity) - 1 AS double) / 2 AS popularity_rank
    FROM voted_films
)

SELECT
    count(*) AS films,
    corr(vote_average, popularity) AS pearson_vote_popularity,
    corr(vote_average_rank, popularity_rank) AS spearman_vote_popularity
FROM ranked_films
