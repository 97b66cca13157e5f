"""TMDB enrichment: select films from the Raw CSV, fetch them at the rate limit, write batches."""
