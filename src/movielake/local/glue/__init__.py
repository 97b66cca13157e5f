"""Stand-ins for AWS Glue in the local moto server: the crawlers crawl (moto's only change state).

- :mod:`~movielake.local.glue.crawl`: the crawler's work (list, sample, infer, register tables
  and partitions), done with the clients of the crawler's role;
- :mod:`~movielake.local.glue.crawler`: ``StartCrawler``/``StopCrawler``/``GetCrawler(s)``/
  ``ListCrawls`` as Glue answers them, the run in the background, ``LastCrawl`` and the
  *Glue Crawler State Change* event on the default bus. Installed by the launcher
  (:mod:`movielake.local.motoserver`).
"""
