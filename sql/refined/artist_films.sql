-- Title: Refined artist films
-- Question: Which enriched films did each artist work on?
-- Grain: one row per distinct (artist, imdb_id): an artist counts a film once, whatever the
--   number of roles or characters they had in it.
-- Sources: trusted_film_artists, refined_film_facts (the bridge keeps only enriched films,
--   so it joins refined_film_facts without losing rows).
-- Definitions:
--   roles: how many distinct (role, character) rows the artist has in the film.
SELECT
    a.artist,
    a.imdb_id,
    count(*) AS roles
FROM trusted_film_artists AS a
INNER JOIN refined_film_facts AS f ON f.imdb_id = a.imdb_id
GROUP BY a.artist, a.imdb_id
