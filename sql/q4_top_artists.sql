-- Title: Artists with the most enriched films
-- Question: Which ten artists appear in the most films that TMDB enriched, and how are those
--   films rated, how much do they earn and how popular are they?
-- Definitions:
--   artist film: a row of refined_artist_films (sql/refined/artist_films.sql), the distinct
--     (artist, imdb_id) pairs of the movies CSV whose film TMDB enriched, so an artist counts
--     a film once whatever the number of roles or CSV copies.
--   unknown: a revenue of 0 is unknown (NULL since Trusted) and left out of avg_revenue.
--   ranking: films desc, then avg_revenue desc (unknown last), then artist asc; the first 10.
-- Output: ten rows at most, in ranking order.
WITH artist_summary AS (
    SELECT
        a.artist,
        count(*) AS films,
        avg(f.vote_average) AS avg_vote_average,
        avg(CAST(f.revenue AS double)) AS avg_revenue,
        count(f.revenue) AS films_with_revenue,
        avg(f.popularity) AS avg_popularity
    FROM refined_artist_films AS a
    INNER JOIN refined_film_facts AS f ON f.imdb_id = a.imdb_id
    GROUP BY a.artist
)

SELECT artist, films, avg_vote_average, avg_revenue, films_with_revenue, avg_popularity
FROM artist_summary
ORDER BY films DESC, avg_revenue DESC NULLS LAST, artist ASC
LIMIT 10
